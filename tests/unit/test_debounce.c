/* SPDX-License-Identifier: MIT */
#include "debounce.h"
#include "test.h"

static void test_nothing_pending_arms_no_timer(void)
{
  struct debounce d;

  debounce_init(&d, 2000, 60000);
  CHECK(!debounce_due(&d, 0));
  CHECK(!debounce_due(&d, 1000000));
  CHECK(debounce_wait_ms(&d, 5) == UINT64_MAX);
}

static void test_single_event_flushes_after_quiet_period(void)
{
  struct debounce d;

  debounce_init(&d, 2000, 60000);
  debounce_event(&d, 1000);
  CHECK_EQ_INT(debounce_wait_ms(&d, 1000), 2000);
  CHECK(!debounce_due(&d, 2999));
  CHECK(debounce_due(&d, 3000));
  CHECK_EQ_INT(debounce_wait_ms(&d, 3500), 0);
}

static void test_burst_becomes_one_flush(void)
{
  struct debounce d;
  uint64_t t;
  int flushes = 0;

  debounce_init(&d, 2000, 60000);
  /* 500 events 10 ms apart, then silence: one flush, 2 s after the last. */
  for (t = 0; t < 5000; t += 10) {
    debounce_event(&d, t);
    if (debounce_due(&d, t)) {
      flushes++;
      debounce_flushed(&d);
    }
  }
  CHECK_EQ_INT(flushes, 0);
  CHECK(!debounce_due(&d, 4990 + 1999));
  CHECK(debounce_due(&d, 4990 + 2000));
}

static void test_each_event_restarts_quiet_period(void)
{
  struct debounce d;

  debounce_init(&d, 2000, 60000);
  debounce_event(&d, 0);
  debounce_event(&d, 1500);
  CHECK(!debounce_due(&d, 2000));
  CHECK_EQ_INT(debounce_wait_ms(&d, 2000), 1500);
  CHECK(debounce_due(&d, 3500));
}

static void test_trickle_flushes_at_max_delay(void)
{
  struct debounce d;
  uint64_t t;
  uint64_t flushed_at = 0;

  debounce_init(&d, 2000, 10000);
  /* An event every second never leaves 2 s of quiet. */
  for (t = 100; t < 30000 && flushed_at == 0; t += 1000) {
    if (debounce_due(&d, t))
      flushed_at = t;
    debounce_event(&d, t);
  }
  CHECK_EQ_INT(flushed_at, 10100);
}

static void test_max_delay_counts_from_first_pending_event(void)
{
  struct debounce d;

  debounce_init(&d, 2000, 10000);
  debounce_event(&d, 0);
  debounce_flushed(&d);
  /* A new batch starts its own clock at its own first event. */
  debounce_event(&d, 50000);
  debounce_event(&d, 51000);
  CHECK_EQ_INT(debounce_wait_ms(&d, 51000), 2000);
  CHECK(!debounce_due(&d, 52999));
  CHECK(debounce_due(&d, 53000));
}

static void test_flushed_forgets_pending(void)
{
  struct debounce d;

  debounce_init(&d, 100, 1000);
  debounce_event(&d, 10);
  debounce_flushed(&d);
  CHECK(!debounce_due(&d, 100000));
}

static void test_zero_quiet_is_due_at_once(void)
{
  struct debounce d;

  debounce_init(&d, 0, 1000);
  debounce_event(&d, 7);
  CHECK(debounce_due(&d, 7));
}

TEST_MAIN(TEST(test_nothing_pending_arms_no_timer),
          TEST(test_single_event_flushes_after_quiet_period),
          TEST(test_burst_becomes_one_flush),
          TEST(test_each_event_restarts_quiet_period),
          TEST(test_trickle_flushes_at_max_delay),
          TEST(test_max_delay_counts_from_first_pending_event),
          TEST(test_flushed_forgets_pending),
          TEST(test_zero_quiet_is_due_at_once))
