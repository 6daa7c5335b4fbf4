/** Collision-free test endpoints (from the test kit) and the timing options the tests use. */
export * from '../../src/testing/endpoints.js';

/**
 * The original test suite's options: 10 ms survey, 10 ms receive deadline, 20 ms poll —
 * plus grace rounds. With a 10 ms deadline, a respondent thread that a busy 2-core CI
 * machine deschedules for 10 ms misses a round, and with the original's missedRounds of 1
 * the list flaps (client2 leaves and rejoins), which breaks the scenarios' exact sequences.
 * Three grace rounds absorb that; a stopped client is still dropped after three rounds (~100 ms).
 */
export const FAST = { surveyTime: 10, recvDeadline: 10, pollTime: 20, missedRounds: 3 } as const;

/** The original's exact options, for tests of the original's round behaviour itself. */
export const ORIGINAL = { surveyTime: 10, recvDeadline: 10, pollTime: 20 } as const;

/**
 * For tests that check lists stay exact through failures: a 50 ms survey leaves answers
 * room on a loaded machine, so only the failure under test can change a list.
 */
export const STEADY = { surveyTime: 50, recvDeadline: 50, pollTime: 60, missedRounds: 3 } as const;
