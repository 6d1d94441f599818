'use strict';
// A process that writes a .mtelog with the real writer until it is killed (issue 11 crash tests).
// argv: <log path> <batchBytes> <atomic 0|1> <flush every N records> <max records> <pause ms per flush>
// At <max records> it stops writing and waits to be killed (the log's size stays bounded).
// After each explicit flush it prints "F <records flushed> <bytes>" on stdout: those records are on
// disk (written with writeSync) and must survive a SIGKILL.
const { openLogWriter } = require('../../src/writer');
const { recordEnvelope } = require('./records.cjs');

const [file, batch, atomic, every, max, pause] = process.argv.slice(2);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const w = openLogWriter(file, { profile: 'v2', producer: 'crash-test 1.0', atomic: atomic === '1', batchBytes: Number(batch), flushIntervalMs: 0, fsync: false });
process.stdout.write(`T ${w.writingPath}\n`);
for (let i = 1; i <= Number(max); i++) {
  w.append(recordEnvelope(i));
  if (i % Number(every) === 0) {
    w.flush();
    process.stdout.write(`F ${i} ${w.size}\n`);
    if (Number(pause) > 0) Atomics.wait(sleeper, 0, 0, Number(pause));
  }
}
setInterval(() => {}, 1 << 30); // done: wait for the kill
