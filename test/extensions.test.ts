/** The extension wire format (src/extensions.ts): pure, no sockets. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeFields,
  decodeSurveyBody,
  encodeExtendedAnswer,
  encodeFields,
  encodeSurveyBody,
  FieldTag,
  splitAnswer,
  SURVEY_MAGIC,
} from '../src/extensions.js';

test('fields: tag, 16-bit big-endian length, value; round trip in order', () => {
  const block = encodeFields([
    [FieldTag.listDigest, Buffer.from('abcd')],
    [FieldTag.needList, Buffer.alloc(0)],
  ]);
  assert.deepEqual(block, Buffer.from('010004616263640200' + '00', 'hex'));
  const fields = decodeFields(block);
  assert.deepEqual([...fields.keys()], [FieldTag.listDigest, FieldTag.needList]);
  assert.equal(fields.get(FieldTag.listDigest)!.toString(), 'abcd');
  assert.equal(fields.get(FieldTag.needList)!.byteLength, 0);
});

test('fields: truncated, overlong and repeated fields are malformed; unknown tags are kept for the caller to skip', () => {
  for (const hex of ['01', '0100', '010005616263', '0100016101000162']) {
    assert.throws(() => decodeFields(Buffer.from(hex, 'hex')), { code: 'ERR_MALFORMED_MESSAGE' }, hex);
  }
  assert.equal(decodeFields(Buffer.from('fe000178', 'hex')).get(0xfe)!.toString(), 'x');
  assert.throws(() => encodeFields([[0, Buffer.alloc(0)]]), RangeError);
  assert.throws(() => encodeFields([[1, Buffer.alloc(0x10000)]]), RangeError);
});

test('survey body: empty and foreign bodies are plain (undefined); the magic makes it extended', () => {
  assert.equal(decodeSurveyBody(new Uint8Array(0)), undefined);
  assert.equal(decodeSurveyBody(Buffer.from('GDX')), undefined);
  assert.equal(decodeSurveyBody(Buffer.from('hello world')), undefined);
  const body = encodeSurveyBody([[FieldTag.nonce, Buffer.from('nonce')]]);
  assert.deepEqual(body.subarray(0, 4), SURVEY_MAGIC);
  assert.equal(decodeSurveyBody(body)!.get(FieldTag.nonce)!.toString(), 'nonce');
  assert.equal(decodeSurveyBody(SURVEY_MAGIC)!.size, 0);
  assert.throws(() => decodeSurveyBody(Buffer.concat([SURVEY_MAGIC, Buffer.from('03ff', 'hex')])), { code: 'ERR_MALFORMED_MESSAGE' });
});

test('answers: without fields the bare name, byte for byte (the original); with fields name NUL fields', () => {
  const name = Buffer.from('\uFEFFsvc-é');
  assert.deepEqual(encodeExtendedAnswer(name, []), name);
  const plain = splitAnswer(name);
  assert.deepEqual(Buffer.from(plain.name), name);
  assert.equal(plain.fields.size, 0);
  const ext = encodeExtendedAnswer(name, [[FieldTag.mac, Buffer.alloc(32, 7)]]);
  assert.equal(ext[name.byteLength], 0);
  const split = splitAnswer(ext);
  assert.deepEqual(Buffer.from(split.name), name);
  assert.deepEqual(split.fields.get(FieldTag.mac), Buffer.alloc(32, 7));
  assert.throws(() => splitAnswer(Buffer.concat([name, Buffer.from('0004', 'hex')])), { code: 'ERR_MALFORMED_MESSAGE' });
});
