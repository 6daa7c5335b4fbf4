/*
 * A readiness watcher for file descriptors on the CALLING thread's libuv loop.
 *
 * nanomsg signals a socket's receive descriptor (NN_RCVFD) while a message is queued.
 * The nanomsg package's own watcher (PollSocket) registers on uv_default_loop(), the main
 * thread's loop, so a worker thread cannot wait on its socket without the main thread.
 * This addon registers a uv_poll on the loop of the environment that calls it
 * (napi_get_uv_event_loop), so each worker waits on its own loop: no wake-ups at rest,
 * and a busy or blocked main thread does not delay it.
 *
 * JS API (one instance per Node.js environment: main thread or worker):
 *   open(fd, onReadable) -> watch   a uv_poll over fd, not yet armed
 *   arm(watch)                      one-shot: onReadable(status) is called once, on this
 *                                   thread's loop, when fd is readable (status 0) or the
 *                                   poll failed (a negative libuv error); arm again to
 *                                   wait for more. Arming an armed watch does nothing.
 *   disarm(watch)                   cancels an armed wait (onReadable is not called)
 *   close(watch)                    stops and releases the poll. Idempotent.
 * The poll is on a duplicate of fd (F_DUPFD_CLOEXEC), closed with it: the owner closing fd
 * meanwhile, from any thread, cannot leave libuv polling a closed descriptor.
 * A watch the program drops without close() is closed when it is garbage-collected, and
 * every watch still open when the environment is torn down (a terminated worker) is
 * closed by an asynchronous cleanup hook that Node.js waits for, so no poll outlives the
 * loop it is registered on.
 *
 * Connection statistics (connection hints, src/connection-hints.ts):
 *   bindStatistics(path) -> true    finds nn_get_statistic in the nanomsg package's addon,
 *                                   already loaded by this process (dlopen RTLD_NOLOAD:
 *                                   the very copy whose sockets the bindings create, never
 *                                   a second one); throws ERR_STATISTICS if it is not loaded
 *                                   or lacks the symbol. Process-wide; idempotent.
 *   statistic(s, stat) -> number    nn_get_statistic(s, stat) (nanomsg's counters, e.g.
 *                                   NN_STAT_CURRENT_CONNECTIONS = 201); -1 when nanomsg
 *                                   refuses (EBADF: not a socket); throws before bindStatistics.
 * The JS binding of the nanomsg package does not export nn_get_statistic, but its addon
 * links nanomsg statically and exports the C symbol.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>

typedef struct instance instance_t;

typedef struct watch {
  uv_poll_t poll; /* first member: a uv_poll_t* is a watch_t* */
  instance_t* inst;
  napi_ref on_readable;
  napi_async_context async;
  int fd; /* our duplicate of the watched descriptor, closed with the poll */
  struct watch* prev;
  struct watch* next;
  int armed;
  int closed; /* uv_close called */
  int refs;   /* the JS value and the uv handle: freed when both are gone */
} watch_t;

struct instance {
  napi_env env;
  uv_loop_t* loop;
  watch_t* open;    /* watches not yet closed */
  int closing;      /* closed, close callback still to come */
  napi_async_cleanup_hook_handle teardown; /* set once the environment is being torn down */
};

#define CHECK(env, call)                                              \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      const napi_extended_error_info* info = NULL;                    \
      napi_get_last_error_info((env), &info);                         \
      napi_throw_error((env), "ERR_READINESS",                        \
                       info && info->error_message ? info->error_message : #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static void release(watch_t* w) {
  if (--w->refs == 0) free(w);
}

static void finish_teardown(instance_t* inst) {
  if (inst->teardown == NULL || inst->open != NULL || inst->closing > 0) return;
  napi_remove_async_cleanup_hook(inst->teardown);
  free(inst);
}

static void on_closed(uv_handle_t* handle) {
  watch_t* w = (watch_t*)handle;
  instance_t* inst = w->inst;
  w->inst = NULL;
  close(w->fd);
  release(w);
  if (inst != NULL) {
    inst->closing--;
    finish_teardown(inst);
  }
}

/* Stops the poll and hands it to uv_close. `js` is 0 during teardown, when no JS may run
 * and the environment's references are about to go anyway. */
static void close_watch(watch_t* w, int js) {
  if (w->closed) return;
  w->closed = 1;
  w->armed = 0;
  instance_t* inst = w->inst;
  if (w->prev) w->prev->next = w->next;
  else inst->open = w->next;
  if (w->next) w->next->prev = w->prev;
  w->prev = w->next = NULL;
  if (js) {
    napi_delete_reference(inst->env, w->on_readable);
    napi_async_destroy(inst->env, w->async);
  }
  w->on_readable = NULL;
  inst->closing++;
  uv_poll_stop(&w->poll);
  uv_close((uv_handle_t*)&w->poll, on_closed);
}

static void on_poll(uv_poll_t* poll, int status, int events) {
  (void)events;
  watch_t* w = (watch_t*)poll;
  if (!w->armed || w->closed) return;
  w->armed = 0;
  uv_poll_stop(&w->poll);
  napi_env env = w->inst->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, recv, arg, result; /* recv: make_callback wants an object */
  if (napi_get_reference_value(env, w->on_readable, &callback) == napi_ok && callback != NULL &&
      napi_get_global(env, &recv) == napi_ok && napi_create_int32(env, status, &arg) == napi_ok) {
    /* make_callback, not call_function: it drains the microtask queue afterwards, so the
     * promise that onReadable resolves continues in this very turn of the loop. */
    if (napi_make_callback(env, w->async, recv, callback, 1, &arg, &result) == napi_pending_exception) {
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void on_teardown(napi_async_cleanup_hook_handle handle, void* data) {
  instance_t* inst = (instance_t*)data;
  inst->teardown = handle;
  while (inst->open != NULL) close_watch(inst->open, 0);
  finish_teardown(inst);
}

static void finalize_watch(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  watch_t* w = (watch_t*)data;
  if (!w->closed) close_watch(w, 1);
  release(w);
}

static watch_t* watch_arg(napi_env env, napi_callback_info info, napi_value* args, size_t want) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, "ERR_READINESS", "a readiness watch is required");
    return NULL;
  }
  napi_valuetype type;
  void* data = NULL;
  if (napi_typeof(env, args[0], &type) != napi_ok || type != napi_external ||
      napi_get_value_external(env, args[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_READINESS", "not a readiness watch");
    return NULL;
  }
  return (watch_t*)data;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  instance_t* inst;
  CHECK(env, napi_get_instance_data(env, (void**)&inst));
  size_t argc = 2;
  napi_value args[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  int32_t fd;
  napi_valuetype type;
  if (argc < 2 || napi_get_value_int32(env, args[0], &fd) != napi_ok || fd < 0 ||
      napi_typeof(env, args[1], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, "ERR_READINESS", "open(fd, onReadable): a descriptor >= 0 and a function");
    return NULL;
  }
  watch_t* w = calloc(1, sizeof(watch_t));
  if (w == NULL) {
    napi_throw_error(env, "ERR_READINESS", "out of memory");
    return NULL;
  }
  /* The poll watches a duplicate of its own: the owner may close the descriptor from
   * another thread (nanomsg's nn_close, or a supervisor closing a dead thread's sockets)
   * while this loop still has the poll registered, or queued to register at its next turn
   * (as when a thread blocks, and is terminated, before its loop polled again). On a
   * closed descriptor libuv's epoll_ctl fails and it aborts the process; the duplicate
   * keeps the file open until the poll's own close callback. */
  w->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (w->fd < 0) {
    int err = uv_translate_sys_error(errno);
    free(w);
    napi_throw_error(env, uv_err_name(err), uv_strerror(err));
    return NULL;
  }
  int rc = uv_poll_init(inst->loop, &w->poll, w->fd);
  if (rc != 0) {
    close(w->fd);
    free(w);
    napi_throw_error(env, uv_err_name(rc), uv_strerror(rc));
    return NULL;
  }
  w->inst = inst;
  w->refs = 2;
  napi_value name, external;
  if (napi_create_reference(env, args[1], 1, &w->on_readable) != napi_ok ||
      napi_create_string_utf8(env, "gopherdiscovery.readiness", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &w->async) != napi_ok) {
    if (w->on_readable) napi_delete_reference(env, w->on_readable);
    w->closed = 1;
    w->refs = 1;
    w->inst = NULL; /* on_closed frees w and closes its descriptor; inst is untouched */
    uv_close((uv_handle_t*)&w->poll, on_closed);
    napi_throw_error(env, "ERR_READINESS", "could not set up the watch");
    return NULL;
  }
  w->next = inst->open;
  if (inst->open) inst->open->prev = w;
  inst->open = w;
  if (napi_create_external(env, w, finalize_watch, NULL, &external) != napi_ok) {
    close_watch(w, 1);
    release(w);
    napi_throw_error(env, "ERR_READINESS", "could not create the watch");
    return NULL;
  }
  return external;
}

static napi_value js_arm(napi_env env, napi_callback_info info) {
  napi_value args[1];
  watch_t* w = watch_arg(env, info, args, 1);
  if (w == NULL) return NULL;
  if (w->closed) {
    napi_throw_error(env, "ERR_READINESS", "the watch is closed");
    return NULL;
  }
  if (w->armed) return NULL;
  int rc = uv_poll_start(&w->poll, UV_READABLE, on_poll);
  if (rc != 0) {
    napi_throw_error(env, uv_err_name(rc), uv_strerror(rc));
    return NULL;
  }
  w->armed = 1;
  return NULL;
}

static napi_value js_disarm(napi_env env, napi_callback_info info) {
  napi_value args[1];
  watch_t* w = watch_arg(env, info, args, 1);
  if (w == NULL || w->closed || !w->armed) return NULL;
  w->armed = 0;
  uv_poll_stop(&w->poll);
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value args[1];
  watch_t* w = watch_arg(env, info, args, 1);
  if (w != NULL) close_watch(w, 1);
  return NULL;
}

typedef uint64_t (*get_statistic_fn)(int s, int statistic);
/* Process-wide: nanomsg's socket table is process-wide too. Written once (a pointer store). */
static get_statistic_fn get_statistic = NULL;

static napi_value js_bind_statistics(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  char path[4096];
  size_t len = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 1 || napi_get_value_string_utf8(env, args[0], path, sizeof(path), &len) != napi_ok || len == 0 || len >= sizeof(path) - 1) {
    napi_throw_type_error(env, "ERR_STATISTICS", "bindStatistics(path): the path of the nanomsg addon");
    return NULL;
  }
  if (get_statistic == NULL) {
    void* lib = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (lib == NULL) {
      const char* why = dlerror();
      char message[4300];
      snprintf(message, sizeof(message), "nanomsg's addon %s is not loaded in this process (%s)", path, why ? why : "dlopen");
      napi_throw_error(env, "ERR_STATISTICS", message);
      return NULL;
    }
    void* sym = dlsym(lib, "nn_get_statistic");
    /* The reference dlopen took is kept: the addon stays loaded as long as the process anyway. */
    if (sym == NULL) {
      napi_throw_error(env, "ERR_STATISTICS", "nanomsg's addon does not export nn_get_statistic");
      return NULL;
    }
    get_statistic = (get_statistic_fn)sym;
  }
  napi_value result;
  CHECK(env, napi_get_boolean(env, 1, &result));
  return result;
}

static napi_value js_statistic(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  int32_t s, stat;
  CHECK(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 2 || napi_get_value_int32(env, args[0], &s) != napi_ok || napi_get_value_int32(env, args[1], &stat) != napi_ok) {
    napi_throw_type_error(env, "ERR_STATISTICS", "statistic(socket, statistic): two integers");
    return NULL;
  }
  if (get_statistic == NULL) {
    napi_throw_error(env, "ERR_STATISTICS", "statistic() before bindStatistics()");
    return NULL;
  }
  uint64_t value = get_statistic(s, stat);
  napi_value result;
  /* (uint64_t)-1 is nanomsg's error return; counters stay far below 2^53. */
  CHECK(env, napi_create_double(env, value == UINT64_MAX ? -1.0 : (double)value, &result));
  return result;
}

NAPI_MODULE_INIT() {
  instance_t* inst = calloc(1, sizeof(instance_t));
  if (inst == NULL) {
    napi_throw_error(env, "ERR_READINESS", "out of memory");
    return NULL;
  }
  inst->env = env;
  if (napi_get_uv_event_loop(env, &inst->loop) != napi_ok ||
      napi_set_instance_data(env, inst, NULL, NULL) != napi_ok ||
      napi_add_async_cleanup_hook(env, on_teardown, inst, NULL) != napi_ok) {
    free(inst);
    napi_throw_error(env, "ERR_READINESS", "could not attach to this thread's event loop");
    return NULL;
  }
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"arm", NULL, js_arm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"disarm", NULL, js_disarm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bindStatistics", NULL, js_bind_statistics, NULL, NULL, NULL, napi_enumerable, NULL},
      {"statistic", NULL, js_statistic, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}
