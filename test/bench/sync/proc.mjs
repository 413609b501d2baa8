// Linux /proc helpers: peak RSS (VmHWM, resettable through clear_refs) and CPU time of a process.
import { readFileSync, writeFileSync } from 'node:fs';

/** A `kB` field of /proc/<pid>/status (VmRSS, VmHWM, …), in kB; null when unavailable. */
export function procStatusKB(field, pid = 'self') {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Resets the peak RSS (VmHWM) of `pid` to its current RSS (Linux ≥ 4.0). False when not permitted. */
export function resetPeakRss(pid = 'self') {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** User + system CPU time of `pid` in ms (from /proc/<pid>/stat, assuming USER_HZ = 100). */
export function cpuMs(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // utime, stime (fields 14, 15)
  } catch {
    return null;
  }
}
