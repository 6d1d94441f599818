import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkOutputPath, OutputError, writeOutputFile } from './output-path';
import { openLogWriter } from './writer';
import { sampleEnvelopes, tempDir } from '../test/helpers';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function refusal(f: () => unknown): { code: string; message: string } | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof OutputError) return { code: e.code, message: e.message };
    throw e;
  }
  return undefined;
}

function temps(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));
}

// Issue 21 item 1/10: an output is a regular file or a new path; anything else is refused untouched.
describe('checkOutputPath / writeOutputFile', () => {
  it('accepts a new path and a regular file, giving the absolute path', () => {
    const dir = path.dirname(tmp.file('x'));
    fs.mkdirSync(dir, { recursive: true });
    expect(checkOutputPath('new.svg', { cwd: dir })).toBe(path.join(dir, 'new.svg'));
    fs.writeFileSync(path.join(dir, 'old.svg'), 'old');
    expect(checkOutputPath(path.join(dir, 'old.svg'))).toBe(path.join(dir, 'old.svg'));
  });

  it('refuses a device, a folder, a FIFO, an empty path and a missing folder, naming the target and the option', () => {
    const dir = path.dirname(tmp.file('x'));
    fs.mkdirSync(dir, { recursive: true });
    expect(refusal(() => checkOutputPath('/dev/null', { label: '--log' }))).toEqual({
      code: 'MTEPERM_OUTPUT_PATH',
      message: '--log "/dev/null" is a character device: only a regular file or a new path is written (nothing changed)',
    });
    expect(refusal(() => checkOutputPath(dir, { label: '--svg' }))?.message).toBe(`--svg ${JSON.stringify(dir)} is a folder: only a regular file or a new path is written (nothing changed)`);
    expect(refusal(() => checkOutputPath('', { label: '--log' }))?.message).toBe('--log "": an empty path names no file');
    expect(refusal(() => checkOutputPath('/nonexistent/x.svg', { label: '--svg' }))?.message).toBe('--svg "/nonexistent/x.svg": its folder /nonexistent does not exist');
    const fifo = path.join(dir, 'fifo');
    if (spawnSync('mkfifo', [fifo]).status === 0) {
      expect(refusal(() => writeOutputFile(fifo, 'x', { label: '--svg' }))?.message).toContain('is a FIFO');
      expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
    }
    expect(fs.lstatSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('writeOutputFile replaces a regular file whole and leaves no temporary file', () => {
    const file = tmp.file('map.svg');
    fs.writeFileSync(file, 'old');
    writeOutputFile(file, '<svg/>');
    expect(fs.readFileSync(file, 'utf8')).toBe('<svg/>');
    expect(temps(path.dirname(file))).toEqual([]);
  });

  it('the log writer refuses a device before creating anything', () => {
    expect(refusal(() => openLogWriter('/dev/full', { profile: 'v2', producer: 'test 1.0' }))?.code).toBe('MTEPERM_OUTPUT_PATH');
    expect(fs.readdirSync('/dev').filter((f) => f.startsWith('.full.'))).toEqual([]);
  });

  it('a failed rename (the target became a folder mid-run) is MTEPERM_OUTPUT_WRITE naming the path, and removes the temporary file', () => {
    const file = tmp.file('raced.mtelog');
    const w = openLogWriter(file, { profile: 'v2', producer: 'test 1.0' });
    for (const e of sampleEnvelopes(5)) w.append(e);
    fs.mkdirSync(file);
    fs.writeFileSync(path.join(file, 'inside'), 'kept');
    const r = refusal(() => w.close());
    expect(r?.code).toBe('MTEPERM_OUTPUT_WRITE');
    expect(r?.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot rename its temporary file into place: (EISDIR|ENOTEMPTY)`));
    expect(fs.existsSync(w.writingPath)).toBe(false);
    expect(temps(path.dirname(file))).toEqual([]);
    expect(fs.readFileSync(path.join(file, 'inside'), 'utf8')).toBe('kept');
  });
});
