/* Unit tests for write-capability mailboxes (protocol/mbox_write.h): the mailbox ID and
 * the post signature against vectors computed independently (Python), a post checked
 * the way a node checks it, and every way a post can be wrong: another key or tag
 * (E_DENIED), any byte changed, another mailbox, another signer, no room for a
 * signature. */
#include "harness.h"

#include "mbox_write.h"

/* Vectors computed independently with Python's hashlib and cryptography (Ed25519). */
static void test_vectors(void) {
  uint8_t wk[32], tag[32], mb[32], want[32], seed[32], ct[10 + MBOX_WRITE_SIG_LEN];
  uint8_t want_sig[MBOX_WRITE_SIG_LEN];
  struct crypto_sign_keypair kp;
  memset(wk, 0x33, 32);
  memset(tag, 0x44, 32);
  CHECK_EQ(mbox_write_mailbox(mb, wk, tag), 0);
  th_unhex(want, 32, "6f0200359697037821dc795c0dba5b2ac2296638201629937aba71edda5fa70f");
  CHECK_MEM(mb, want, 32);
  memset(seed, 0x55, 32);
  CHECK_EQ(crypto_sign_from_seed(&kp, seed), 0);
  th_unhex(want, 32, "c6822637c7d310ec57627be00ba259d253749f4aaf644470cffbe53a35f73242");
  CHECK_MEM(kp.pub, want, 32);
  CHECK_EQ(mbox_write_mailbox(mb, kp.pub, tag), 0);
  th_unhex(want, 32, "7341e753636a30d251a2dea50dc4693f52b5a48fd5b3a66992865b78c05d1c5c");
  CHECK_MEM(mb, want, 32);
  memset(ct, 0x66, 10);
  CHECK_EQ(mbox_write_sign(ct, sizeof ct, mb, &kp), 0);
  th_unhex(want_sig, sizeof want_sig,
           "86cb55214eb71ff5e7ef1a0ed6b0214c210653a1ea9a4f29484f97cf65086df8"
           "5ae0050e39962fc0de02f8c535e05cc1e6fa36ff5dfb7c719ce6dbc57e4a9409");
  CHECK_MEM(ct + 10, want_sig, sizeof want_sig);
  CHECK_EQ(mbox_write_check(mb, kp.pub, tag, ct, sizeof ct), 0);
}

static void test_sign_and_check(void) {
  struct crypto_sign_keypair kp, other;
  uint8_t tag[32], mb[32], ct[100];
  CHECK_EQ(crypto_sign_keygen(&kp), 0);
  CHECK_EQ(crypto_sign_keygen(&other), 0);
  CHECK_EQ(crypto_random(tag, 32), 0);
  CHECK_EQ(crypto_random(ct, sizeof ct), 0);
  CHECK_EQ(mbox_write_mailbox(mb, kp.pub, tag), 0);
  CHECK_EQ(mbox_write_sign(ct, sizeof ct, mb, &kp), 0);
  CHECK_EQ(mbox_write_check(mb, kp.pub, tag, ct, sizeof ct), 0);
  CHECK_EQ(mbox_write_verify(ct, sizeof ct, mb, kp.pub), 0);
  /* Another key or tag does not name this mailbox. */
  CHECK_EQ(mbox_write_check(mb, other.pub, tag, ct, sizeof ct), MOMEDO_E_DENIED);
  tag[0] ^= 1;
  CHECK_EQ(mbox_write_check(mb, kp.pub, tag, ct, sizeof ct), MOMEDO_E_DENIED);
  tag[0] ^= 1;
  /* Every byte is covered. */
  for (size_t i = 0; i < sizeof ct; i++) {
    ct[i] ^= 0x80;
    CHECK_EQ(mbox_write_check(mb, kp.pub, tag, ct, sizeof ct), MOMEDO_E_BADSIG);
    ct[i] ^= 0x80;
  }
  /* Signed for one mailbox, it is not valid for another (with its own key and tag). */
  uint8_t tag2[32], mb2[32];
  memcpy(tag2, tag, 32);
  tag2[31] ^= 1;
  CHECK_EQ(mbox_write_mailbox(mb2, kp.pub, tag2), 0);
  CHECK_EQ(mbox_write_check(mb2, kp.pub, tag2, ct, sizeof ct), MOMEDO_E_BADSIG);
  /* Signed by someone else. */
  CHECK_EQ(mbox_write_sign(ct, sizeof ct, mb, &other), 0);
  CHECK_EQ(mbox_write_check(mb, kp.pub, tag, ct, sizeof ct), MOMEDO_E_BADSIG);
  /* No room for a signature. */
  CHECK_EQ(mbox_write_sign(ct, MBOX_WRITE_SIG_LEN, mb, &kp), MOMEDO_E_TRUNCATED);
  CHECK_EQ(mbox_write_check(mb, kp.pub, tag, ct, MBOX_WRITE_SIG_LEN), MOMEDO_E_TRUNCATED);
}

int main(void) {
  RUN(test_vectors);
  RUN(test_sign_and_check);
  TEST_MAIN_END();
}
