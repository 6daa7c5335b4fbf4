/** The test kit's real SP peer socket, under the name the tests use. */
export { PeerSocket as Peer } from '../../src/testing/peer-socket.js';
