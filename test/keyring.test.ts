/**
 * Shared-secret mode's cryptography and answer exchange, without sockets
 * (src/keyring.ts, src/admission.ts): key derivation, answer MACs bound to one survey,
 * sealed lists that refuse tampering, truncation, unknown keys and replays, keyring rotation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { surveyAuthentication } from '../src/actors/surveyor.js';
import { answerTo, openAnswer, secretSurveyBody } from '../src/admission.js';
import { InvalidOptionError } from '../src/errors.js';
import { decodeSurveyBody, FieldTag, splitAnswer } from '../src/extensions.js';
import { deriveKey, Keyring, keysFromSecrets, ListSealer, MAC_BYTES, MIN_SEALED_BYTES, NONCE_BYTES, ReplayGuard, REMEMBERED_EPOCHS, surveyNonce } from '../src/keyring.js';

const A = 'secret-A-0123456789abcdef';
const B = 'secret-B-0123456789abcdef';
const ringA = new Keyring([deriveKey(A)]);
const ringB = new Keyring([deriveKey(B)]);
const name = Buffer.from('svc-1');

test('derivation: one secret gives one key, two secrets give independent keys, ids are 4 bytes', () => {
  const a1 = deriveKey(A);
  const a2 = deriveKey('secret-A-0123456789abcdef'.slice(0)); // an equal string, not the same object
  assert.deepEqual(a1, a2);
  const b = deriveKey(B);
  assert.notDeepEqual(Buffer.from(a1.mac), Buffer.from(b.mac));
  assert.notDeepEqual(Buffer.from(a1.mac), Buffer.from(a1.seal), 'MAC and sealing keys differ');
  assert.equal(a1.id.byteLength, 4);
  assert.equal(a1.mac.byteLength, 32);
  assert.equal(a1.seal.byteLength, 32);
});

test('secret options: too short, empty, not strings or repeated are refused without naming the secret', () => {
  assert.throws(() => keysFromSecrets('secret', 'short'), (e: Error) => e instanceof InvalidOptionError && /at least 16/.test(e.message) && !e.message.includes('short"'));
  assert.throws(() => keysFromSecrets('secret', []), InvalidOptionError);
  assert.throws(() => keysFromSecrets('secret', [A, 42]), /secret\[1\] must be a string/);
  assert.throws(() => keysFromSecrets('secret', [A, A]), /same secret twice/);
  assert.throws(() => keysFromSecrets('secret', 7), InvalidOptionError);
  assert.equal(keysFromSecrets('secret', [A, B]).length, 2);
});

test('an answer to a secret survey carries the name and a MAC that verifies for that survey only', () => {
  const nonce = surveyNonce();
  const body = secretSurveyBody(ringA, nonce);
  const fields = decodeSurveyBody(body)!;
  assert.equal(fields.get(FieldTag.nonce)!.byteLength, NONCE_BYTES);
  assert.deepEqual(fields.get(FieldTag.keyId), Buffer.from(ringA.primary.id));

  const answer = answerTo(name, ringA, body)!;
  const parts = splitAnswer(answer);
  assert.deepEqual(Buffer.from(parts.name), name);
  assert.equal(parts.fields.get(FieldTag.mac)!.byteLength, MAC_BYTES);

  assert.deepEqual(openAnswer(ringA, [nonce], answer), { ok: true, name: parts.name });
  // Replayed to the next survey: another nonce.
  const next = surveyNonce();
  assert.equal((openAnswer(ringA, [next], answer) as { code: string }).code, 'bad-mac');
  // With late answers the previous nonce still counts.
  assert.equal(openAnswer(ringA, [next, nonce], answer).ok, true);
  // Another key's ring does not know the key id.
  assert.equal((openAnswer(ringB, [nonce], answer) as { code: string }).code, 'unknown-key');
});

test('a changed name, a flipped MAC bit, a plain answer and garbage fields are refused', () => {
  const nonce = surveyNonce();
  const answer = answerTo(name, ringA, secretSurveyBody(ringA, nonce))!;
  const renamed = Buffer.concat([Buffer.from('svc-2'), answer.subarray(name.byteLength)]);
  assert.equal((openAnswer(ringA, [nonce], renamed) as { code: string }).code, 'bad-mac');
  const flipped = Buffer.from(answer);
  flipped[name.byteLength + 1 + 3 + 5]! ^= 0x01; // a byte inside the MAC
  assert.equal((openAnswer(ringA, [nonce], flipped) as { code: string }).code, 'bad-mac');
  assert.equal((openAnswer(ringA, [nonce], name) as { code: string }).code, 'unauthenticated');
  assert.equal((openAnswer(ringA, [nonce], Buffer.concat([name, Buffer.from([0, 4, 0xff, 0xff])])) as { code: string }).code, 'unauthenticated');
  // A MAC field of the wrong length is a bad MAC, not a crash.
  const short = Buffer.concat([name, Buffer.from([0, FieldTag.mac, 0, 1, 0x00, FieldTag.keyId, 0, 4]), Buffer.from(ringA.primary.id)]);
  assert.equal((openAnswer(ringA, [nonce], short) as { code: string }).code, 'bad-mac');
});

test('a secret respondent leaves plain, malformed and short-nonce surveys unanswered; a plain one answers anything with its name', () => {
  assert.equal(answerTo(name, ringA, Buffer.alloc(0)), null);
  assert.equal(answerTo(name, ringA, Buffer.from('GDX1\x03\xff')), null);
  assert.equal(answerTo(name, ringA, Buffer.concat([Buffer.from('GDX1'), Buffer.from([FieldTag.nonce, 0, 2, 1, 2])])), null);
  assert.equal(answerTo(name, undefined, secretSurveyBody(ringA, surveyNonce())), name);
});

test('a keyring accepts every key in it and signs with the first: rotation from A to B', () => {
  const rotating = new Keyring([deriveKey(B), deriveKey(A)]);
  const nonce = surveyNonce();
  const body = secretSurveyBody(ringA, nonce);
  assert.equal(openAnswer(rotating, [nonce], answerTo(name, ringA, body)!).ok, true, 'an A-only client is accepted');
  assert.equal(openAnswer(rotating, [nonce], answerTo(name, ringB, body)!).ok, true, 'a B-only client is accepted');
  const fromRotating = answerTo(name, rotating, body)!;
  assert.deepEqual(splitAnswer(fromRotating).fields.get(FieldTag.keyId), Buffer.from(deriveKey(B).id), 'signed with B, the first');
  assert.equal(openAnswer(new Keyring([deriveKey(A), deriveKey(B)]), [nonce], fromRotating).ok, true);
  // Sealed lists likewise.
  const sealed = new ListSealer(rotating).seal(Buffer.from('a|b'));
  assert.equal(ringB.open(sealed).ok, true);
  assert.equal((ringA.open(sealed) as { code: string }).code, 'unknown-key');
});

test('sealed lists: open with the key, refuse a flipped bit anywhere, truncation, a plain list and another key', () => {
  const list = Buffer.from('alpha|beta|gamma');
  const sealed = new ListSealer(ringA).seal(list);
  assert.ok(!sealed.includes(Buffer.from('alpha')), 'the names are not in the clear');
  const opened = ringA.open(sealed);
  assert.ok(opened.ok);
  assert.deepEqual(opened.list, list);
  assert.equal(opened.seq, 1n);
  for (let i = 0; i < sealed.byteLength; i++) {
    const bad = Buffer.from(sealed);
    bad[i]! ^= 0x40;
    const r = ringA.open(bad);
    assert.equal(r.ok, false, `a flipped bit at byte ${i} was accepted`);
  }
  for (const n of [0, 3, 4, 10, MIN_SEALED_BYTES - 1, sealed.byteLength - 1]) {
    assert.equal(ringA.open(sealed.subarray(0, n)).ok, false, `truncated to ${n} bytes`);
  }
  assert.equal((ringA.open(list) as { code: string }).code, 'unsealed');
  assert.equal((ringB.open(sealed) as { code: string }).code, 'unknown-key');
  // A forger who knows the key id but not the key.
  const forged = Buffer.from(sealed);
  forged.fill(0x11, 20);
  assert.equal((ringA.open(forged) as { code: string }).code, 'bad-seal');
  // The empty list seals and opens too.
  const empty = ringA.open(new ListSealer(ringA).seal(Buffer.alloc(0)));
  assert.ok(empty.ok && empty.list.byteLength === 0);
});

test('replay guard: per publisher epoch, only newer sequence numbers pass; a bounded number of epochs is kept', () => {
  const guard = new ReplayGuard();
  const sealer = new ListSealer(ringA);
  const first = ringA.open(sealer.seal(Buffer.from('a')));
  const second = ringA.open(sealer.seal(Buffer.from('a|b')));
  assert.ok(first.ok && second.ok);
  assert.equal(guard.accept(first.epoch, first.seq), true);
  assert.equal(guard.accept(second.epoch, second.seq), true);
  assert.equal(guard.accept(first.epoch, first.seq), false, 'the older list replayed');
  assert.equal(guard.accept(second.epoch, second.seq), false, 'the same list again');
  const restarted = ringA.open(new ListSealer(ringA).seal(Buffer.from('a')));
  assert.ok(restarted.ok);
  assert.equal(guard.accept(restarted.epoch, restarted.seq), true, 'a restarted publisher (new epoch) starts over');
  for (let i = 0; i < REMEMBERED_EPOCHS; i++) {
    const o = ringA.open(new ListSealer(ringA).seal(Buffer.from('x')));
    assert.ok(o.ok && guard.accept(o.epoch, o.seq));
  }
  assert.equal(guard.accept(second.epoch, second.seq), true, 'forgotten after REMEMBERED_EPOCHS newer epochs (the documented bound)');
});

test("a secret surveyor's nonces: with lateAnswers 'count' an answer to the previous survey counts, an older one does not; with 'drop' only the current", () => {
  const keys = [deriveKey(A)];
  for (const [lateAnswers, previousValid] of [['count', true], ['drop', false]] as const) {
    const auth = surveyAuthentication({ keys, lateAnswers });
    const first = answerTo(name, ringA, Buffer.from(auth.body()))!;
    const second = answerTo(name, ringA, Buffer.from(auth.body()))!;
    assert.equal(auth.open(second).ok, true, `${lateAnswers}: the current survey's answer`);
    assert.equal(auth.open(first).ok, previousValid, `${lateAnswers}: the previous survey's answer`);
    auth.body();
    assert.equal((auth.open(first) as { code: string }).code, 'bad-mac', `${lateAnswers}: an answer two surveys old`);
  }
  const plain = surveyAuthentication({ lateAnswers: 'drop' });
  assert.equal(plain.body().byteLength, 0, 'plain mode: the empty survey of the original');
  assert.deepEqual(plain.open(name), { ok: true, name });
});
