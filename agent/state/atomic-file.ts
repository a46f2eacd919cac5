/**
 * Crash-safe files in the agent's state directory. A write goes to a fresh temporary file in
 * the same directory (created with O_EXCL | O_NOFOLLOW, mode 0600), is fsynced, renamed over
 * the target and the directory is fsynced, so a reader sees the old or the new content, never
 * a torn one, even after power loss. Symbolic links are refused on both paths: the state
 * directory is root's, and following a planted link would let someone redirect our writes.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { AgentError, ErrorCode } from '../../shared/errors.ts';

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** Permission bits of the file, applied with fchmod so the umask can't widen or narrow them. @default 0o600 */
  readonly mode?: number;
}

/** Options of the readers. */
export interface ReadStateOptions {
  /** Largest file accepted, in bytes. @default 16_777_216 */
  readonly maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Replaces `path` atomically with `data`. Throws {@link AgentError} `VFT_ERR_STATE_IO` when
 * `path` is a symbolic link or any step fails; the temporary file is removed on failure.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  await refuseSymlink(path);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const mode = options.mode ?? 0o600;
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  let created = false;
  try {
    const fh = await open(tmp, flags, mode);
    created = true;
    try {
      await fh.chmod(mode);
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    created = false;
    await syncDirectory(dir);
  } catch (err) {
    if (created) await unlink(tmp).catch(() => undefined);
    if (err instanceof AgentError) throw err;
    throw new AgentError(ErrorCode.STATE_IO, `Cannot write state file ${path}`, { cause: err });
  }
}

/** {@link writeFileAtomic} of `stringify(value)` (default: `JSON.stringify(value, null, 2)`) plus a newline. */
export async function writeJsonAtomic(
  path: string,
  value: unknown,
  options: AtomicWriteOptions & { readonly stringify?: (value: unknown) => string } = {},
): Promise<void> {
  const text = options.stringify ? options.stringify(value) : JSON.stringify(value, null, 2);
  await writeFileAtomic(path, `${text}\n`, options);
}

/**
 * The file's text, or `null` when it does not exist (a missing state file is an expected
 * value, not an error). Refuses symbolic links, non-regular files and files over `maxBytes`.
 */
export async function readStateFile(
  path: string,
  options: ReadStateOptions = {},
): Promise<string | null> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return null;
    if (errnoOf(err) === 'ELOOP') {
      throw new AgentError(ErrorCode.STATE_IO, `Refusing to read ${path}: it is a symbolic link`);
    }
    throw new AgentError(ErrorCode.STATE_IO, `Cannot read state file ${path}`, { cause: err });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      throw new AgentError(ErrorCode.STATE_IO, `Refusing to read ${path}: not a regular file`);
    }
    if (st.size > maxBytes) {
      throw new AgentError(
        ErrorCode.STATE_IO,
        `Refusing to read ${path}: ${st.size} bytes is more than the limit of ${maxBytes}`,
      );
    }
    return await fh.readFile({ encoding: 'utf8' });
  } catch (err) {
    if (err instanceof AgentError) throw err;
    throw new AgentError(ErrorCode.STATE_IO, `Cannot read state file ${path}`, { cause: err });
  } finally {
    await fh.close();
  }
}

/**
 * The parsed content of a JSON state file, or `ifMissing` when the file does not exist. The
 * result is `unknown`: validate it before use. Invalid JSON throws `VFT_ERR_STATE_IO`.
 */
export async function readJsonFile(
  path: string,
  ifMissing: unknown,
  options: ReadStateOptions & { readonly parse?: (text: string) => unknown } = {},
): Promise<unknown> {
  const text = await readStateFile(path, options);
  if (text === null) return ifMissing;
  try {
    return options.parse ? options.parse(text) : (JSON.parse(text) as unknown);
  } catch (err) {
    throw new AgentError(ErrorCode.STATE_IO, `State file ${path} is not valid JSON`, {
      cause: err,
    });
  }
}

async function refuseSymlink(path: string): Promise<void> {
  try {
    const st = await lstat(path);
    if (st.isSymbolicLink()) {
      throw new AgentError(
        ErrorCode.STATE_IO,
        `Refusing to replace ${path}: it is a symbolic link`,
      );
    }
    if (!st.isFile()) {
      throw new AgentError(ErrorCode.STATE_IO, `Refusing to replace ${path}: not a regular file`);
    }
  } catch (err) {
    if (err instanceof AgentError) throw err;
    if (errnoOf(err) !== 'ENOENT') {
      throw new AgentError(ErrorCode.STATE_IO, `Cannot inspect ${path}`, { cause: err });
    }
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } catch (err) {
    // Some filesystems cannot fsync a directory; the rename is still atomic there.
    if (errnoOf(err) !== 'EINVAL' && errnoOf(err) !== 'ENOTSUP') throw err;
  } finally {
    await fh.close();
  }
}

function errnoOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return undefined;
}
