import { crc32 } from 'node:zlib';

/**
 * Log record framing, in the spirit of LevelDB's log format: every record is
 *
 *   u32 LE payload length | u32 LE (length XOR 0xFFFFFFFF) | u32 LE crc32(payload) | payload
 *
 * The inverted length makes a damaged length field detectable before it is trusted; the
 * checksum makes a damaged or half-written payload detectable. A reader therefore never
 * applies bytes that were not written whole.
 */
export const FRAME_HEADER_BYTES = 12;

/** The frame of `payload` (text is written as UTF-8 straight into the frame: no copy of it). */
export function encodeFrame(payload: Buffer | string): Buffer {
  const length = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  if (typeof payload === 'string') frame.write(payload, FRAME_HEADER_BYTES, 'utf8');
  else payload.copy(frame, FRAME_HEADER_BYTES);
  frame.writeUInt32LE(length, 0);
  frame.writeUInt32LE(~length >>> 0, 4);
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_HEADER_BYTES)), 8);
  return frame;
}

export type FrameRead =
  | { kind: 'ok'; payloadStart: number; payloadEnd: number }
  /** Fewer bytes than the frame needs: a record still being written, or torn by a crash. */
  | { kind: 'incomplete' }
  /** The bytes are there but wrong. `zeros` says the rest of the buffer is all zero bytes. */
  | { kind: 'bad'; reason: string; frameEnd: number; zeros: boolean };

/** Reads the frame that starts at `offset` of `buf` (whose valid bytes end at `end`). */
export function readFrame(buf: Buffer, offset: number, end: number): FrameRead {
  if (end - offset < FRAME_HEADER_BYTES) return { kind: 'incomplete' };
  const length = buf.readUInt32LE(offset);
  const check = buf.readUInt32LE(offset + 4);
  if ((~length >>> 0) !== check) {
    return { kind: 'bad', reason: 'frame header damaged', frameEnd: end, zeros: allZero(buf, offset, end) };
  }
  const payloadStart = offset + FRAME_HEADER_BYTES;
  const payloadEnd = payloadStart + length;
  if (payloadEnd > end) return { kind: 'incomplete' };
  const expected = buf.readUInt32LE(offset + 8);
  if (crc32(buf.subarray(payloadStart, payloadEnd)) !== expected) {
    return { kind: 'bad', reason: 'checksum mismatch', frameEnd: payloadEnd, zeros: false };
  }
  return { kind: 'ok', payloadStart, payloadEnd };
}

function allZero(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}
