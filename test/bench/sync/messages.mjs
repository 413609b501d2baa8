// Waiting for a child process's IPC messages (the bench's client processes). A holder keeps
// { label, messages, waiters, exit } and has describeExit() and kill(); each message that
// arrives goes into `messages` and calls every waiter.

/** Next message matching `pred`; rejects on a failure message, on exit, or after `timeoutMs` (then kills). */
export function nextMessage(c, pred, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const i = c.messages.findIndex(pred);
      if (i >= 0) { done(); resolve(c.messages.splice(i, 1)[0]); return; }
      const failed = c.messages.find((m) => m.ok === false);
      if (failed) { done(); reject(Object.assign(new Error(`${c.label}: ${failed.fatal ?? 'error'}: ${failed.error.message}`), { stack2: failed.error.stack })); return; }
      if (c.exit) { done(); reject(new Error(c.describeExit())); }
    };
    const timer = setTimeout(() => {
      done();
      c.kill();
      reject(new Error(`timeout: no ${what} from ${c.label} within ${timeoutMs / 1000} s (client killed)`));
    }, timeoutMs);
    const done = () => { clearTimeout(timer); c.waiters.delete(check); };
    c.waiters.add(check);
    check();
  });
}
