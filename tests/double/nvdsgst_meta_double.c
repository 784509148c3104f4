/* Test double of libnvdsgst_meta.so: the two exports cudadraw looks up
 * (gst_buffer_get_nvds_batch_meta, nvds_version), recording what it was given.
 * The tests set the batch meta pointer to return and the version to report. */
#include <stddef.h>

static void *next_meta;
static void *last_buffer;
static int calls;
static unsigned version_major = 9, version_minor = 1;

void cdm_set(void *meta) { next_meta = meta; calls = 0; last_buffer = NULL; }
void cdm_set_version(unsigned major, unsigned minor) { version_major = major; version_minor = minor; }
int cdm_calls(void) { return calls; }
void *cdm_last_buffer(void) { return last_buffer; }

void *gst_buffer_get_nvds_batch_meta(void *buffer)
{
  calls++;
  last_buffer = buffer;
  return next_meta;
}

void nvds_version(unsigned *major, unsigned *minor)
{
  *major = version_major;
  *minor = version_minor;
}
