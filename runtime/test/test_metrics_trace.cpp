// Metrics JSON lines and Chrome traces: parsed back and checked field by field.
#include "pzrt/comm.h"
#include "pzrt/error.h"
#include "pzrt/metrics.h"
#include "pzrt/trace.h"

#include "io/json.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace json = pzrt::json;
using pzrt::test::TempDir;

namespace {

json::Value parseOrFail(const std::string &text) {
  json::Value v;
  std::string err;
  EXPECT_TRUE(json::parse(text, v, err)) << err << "\n" << text;
  return v;
}

std::vector<json::Value> lines(const std::string &path) {
  std::vector<json::Value> out;
  std::istringstream in(pzrt::test::readText(path));
  std::string line;
  while (std::getline(in, line))
    out.push_back(parseOrFail(line));
  return out;
}

TEST(Metrics, WritesOneObjectPerStep) {
  TempDir d;
  std::string path = d.file("m.jsonl");
  pzrt_metrics *m = pzrt_metrics_open(path.c_str(), 0);
  ASSERT_NE(m, nullptr) << pzrt_last_error();
  uint64_t bytes[PZRT_COLL_KIND_COUNT] = {};
  bytes[PZRT_COLL_ALL_REDUCE] = 4096;
  bytes[PZRT_COLL_SEND] = 77;
  pzrt_step_metrics s{1, 10.5, 2.25, 3e-4, 0.5, 16384.0, bytes, 123456, R"({"micro_batches": 4})"};
  ASSERT_EQ(pzrt_metrics_write(m, &s), 0);
  s.step = 2;
  s.loss = std::nan("");
  s.comm_bytes = nullptr; // counter delta: nothing was sent since open
  s.extra_json = nullptr;
  ASSERT_EQ(pzrt_metrics_write(m, &s), 0);
  s.extra_json = "[1]";
  EXPECT_EQ(pzrt_metrics_write(m, &s), -1);
  pzrt_metrics_close(m);

  auto ls = lines(path);
  ASSERT_EQ(ls.size(), 2u);
  const json::Value &a = ls[0];
  EXPECT_EQ(a.find("step")->asInt(), 1);
  EXPECT_EQ(a.find("loss")->asDouble(), 10.5);
  EXPECT_EQ(a.find("grad_norm")->asDouble(), 2.25);
  EXPECT_EQ(a.find("lr")->asDouble(), 3e-4);
  EXPECT_EQ(a.find("step_time_s")->asDouble(), 0.5);
  EXPECT_EQ(a.find("tokens_per_s")->asDouble(), 16384.0);
  EXPECT_EQ(a.find("peak_bytes")->asInt(), 123456);
  EXPECT_EQ(a.find("micro_batches")->asInt(), 4);
  const json::Value *cb = a.find("comm_bytes");
  ASSERT_TRUE(cb && cb->isObject());
  EXPECT_EQ(cb->find("all_reduce")->asInt(), 4096);
  EXPECT_EQ(cb->find("send")->asInt(), 77);
  EXPECT_EQ(cb->find("reduce_scatter")->asInt(), 0);
  EXPECT_EQ(cb->find("barrier"), nullptr);
  EXPECT_TRUE(ls[1].find("loss")->isNull()); // NaN is not JSON
  EXPECT_EQ(ls[1].find("comm_bytes")->find("all_reduce")->asInt(), 0);
}

// comm_bytes_by_reason: each line carries the change of the reason counters
// since the previous line, summed over collective kinds.
TEST(Metrics, CommBytesByReasonAreTheStepsChange) {
  TempDir d;
  std::string path = d.file("r.jsonl");
  pzrt_comm_reset_counters();
  ASSERT_EQ(pzrt_comm_count_reason("before.open", PZRT_COLL_ALL_REDUCE, 5), 0);
  pzrt_metrics *m = pzrt_metrics_open(path.c_str(), 0);
  ASSERT_NE(m, nullptr) << pzrt_last_error();
  pzrt_step_metrics s{1, 1.0, 1.0, 1e-3, 0.1, 1.0, nullptr, 1, nullptr};
  ASSERT_EQ(pzrt_comm_count_reason("ddp.grad_bucket", PZRT_COLL_ALL_REDUCE, 100), 0);
  ASSERT_EQ(pzrt_metrics_write(m, &s), 0);
  ASSERT_EQ(pzrt_comm_count_reason("ddp.grad_bucket", PZRT_COLL_ALL_REDUCE, 40), 0);
  ASSERT_EQ(pzrt_comm_count_reason("ddp.grad_bucket", PZRT_COLL_BROADCAST, 2), 0);
  ASSERT_EQ(pzrt_comm_count_reason("zero3.param_gather", PZRT_COLL_ALL_GATHER, 7), 0);
  s.step = 2;
  ASSERT_EQ(pzrt_metrics_write(m, &s), 0);
  pzrt_metrics_close(m);
  pzrt_comm_reset_counters();

  auto ls = lines(path);
  ASSERT_EQ(ls.size(), 2u);
  const json::Value *r1 = ls[0].find("comm_bytes_by_reason");
  ASSERT_TRUE(r1 && r1->isObject());
  EXPECT_EQ(r1->find("ddp.grad_bucket")->asInt(), 100);
  EXPECT_EQ(r1->find("before.open")->asInt(), 0);
  EXPECT_EQ(r1->find("zero3.param_gather"), nullptr);
  const json::Value *r2 = ls[1].find("comm_bytes_by_reason");
  ASSERT_TRUE(r2 && r2->isObject());
  EXPECT_EQ(r2->find("ddp.grad_bucket")->asInt(), 42);
  EXPECT_EQ(r2->find("zero3.param_gather")->asInt(), 7);
}

TEST(Metrics, PythonJsonAcceptsTheFile) {
  if (!pzrt::test::pythonHas("json"))
    GTEST_SKIP() << "python3 not available";
  TempDir d;
  std::string path = d.file("m.jsonl");
  pzrt_metrics *m = pzrt_metrics_open(path.c_str(), 0);
  pzrt_step_metrics s{7, 1.0 / 3, 0.1, 1e-3, 0.25, 100.0, nullptr, 0, nullptr};
  ASSERT_EQ(pzrt_metrics_write(m, &s), 0);
  pzrt_metrics_close(m);
  std::string out;
  ASSERT_EQ(pzrt::test::runCommand(std::string(PZRT_TEST_PYTHON) +
                                       " -c \"import json,sys; r=[json.loads(l) for l in open('" +
                                       path + "')]; print(r[0]['step'], repr(r[0]['loss']))\"",
                                   &out),
            0);
  EXPECT_EQ(out, "7 0.3333333333333333\n"); // shortest round-trip digits survive
}

std::vector<const json::Value *> events(const json::Value &doc, const char *ph) {
  std::vector<const json::Value *> out;
  for (const json::Value &e : doc.find("traceEvents")->items())
    if (e.find("ph")->asString() == ph)
      out.push_back(&e);
  return out;
}

TEST(Trace, CompleteEventsAndMetadata) {
  TempDir d;
  std::string path = d.file("t.json");
  pzrt_trace *t = pzrt_trace_open(path.c_str(), 3);
  ASSERT_NE(t, nullptr) << pzrt_last_error();
  // Valid before any event.
  json::Value empty = parseOrFail(pzrt::test::readText(path));
  EXPECT_EQ(events(empty, "M").size(), 1u);
  pzrt_trace_thread_name(t, 1, "comm");
  pzrt_trace_event(t, "matmul \"fwd\"", "compute", 0, 1000.0, 250.5, R"({"m": 128})");
  pzrt_trace_event(t, "all_reduce", "comm", 1, 1300.0, 40.0, nullptr);
  ASSERT_EQ(pzrt_trace_flush(t), 0);
  json::Value mid = parseOrFail(pzrt::test::readText(path)); // valid while still open
  EXPECT_EQ(events(mid, "X").size(), 2u);
  pzrt_trace_event(t, "late", "compute", 0, 2000.0, 1.0, nullptr);
  pzrt_trace_close(t);

  json::Value doc = parseOrFail(pzrt::test::readText(path));
  EXPECT_EQ(doc.find("displayTimeUnit")->asString(), "ms");
  auto xs = events(doc, "X");
  ASSERT_EQ(xs.size(), 3u);
  EXPECT_EQ(xs[0]->find("name")->asString(), "matmul \"fwd\"");
  EXPECT_EQ(xs[0]->find("cat")->asString(), "compute");
  EXPECT_EQ(xs[0]->find("ts")->asDouble(), 1000.0);
  EXPECT_EQ(xs[0]->find("dur")->asDouble(), 250.5);
  EXPECT_EQ(xs[0]->find("pid")->asInt(), 3);
  EXPECT_EQ(xs[0]->find("tid")->asInt(), 0);
  EXPECT_EQ(xs[0]->find("args")->find("m")->asInt(), 128);
  EXPECT_EQ(xs[1]->find("tid")->asInt(), 1);
  auto ms = events(doc, "M");
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[0]->find("args")->find("name")->asString(), "rank 3");
  EXPECT_EQ(ms[1]->find("name")->asString(), "thread_name");
  EXPECT_EQ(ms[1]->find("args")->find("name")->asString(), "comm");
  EXPECT_GT(pzrt_trace_now_us(), 0.0);
}

// A child that exits without closing its trace still leaves valid JSON with
// every event (flushed at exit); one that dies abruptly keeps the flushed ones.
TEST(Trace, ValidAfterEarlyExit) {
  TempDir d;
  std::string clean = d.file("exit.json"), crash = d.file("crash.json");
  pid_t pid = fork();
  if (pid == 0) {
    pzrt_trace *t = pzrt_trace_open(clean.c_str(), 0);
    for (int i = 0; i < 5; ++i)
      pzrt_trace_event(t, "step", "compute", 0, i * 10.0, 5.0, nullptr);
    std::exit(0); // no pzrt_trace_close
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(events(parseOrFail(pzrt::test::readText(clean)), "X").size(), 5u);

  pid = fork();
  if (pid == 0) {
    pzrt_trace *t = pzrt_trace_open(crash.c_str(), 0);
    pzrt_trace_event(t, "kept", "compute", 0, 0.0, 1.0, nullptr);
    pzrt_trace_flush(t);
    pzrt_trace_event(t, "lost", "compute", 0, 2.0, 1.0, nullptr);
    _exit(9); // no atexit handlers: like a crash
  }
  waitpid(pid, &status, 0);
  json::Value doc = parseOrFail(pzrt::test::readText(crash));
  auto xs = events(doc, "X");
  ASSERT_EQ(xs.size(), 1u);
  EXPECT_EQ(xs[0]->find("name")->asString(), "kept");
}

TEST(Trace, PythonJsonAcceptsTheFile) {
  if (!pzrt::test::pythonHas("json"))
    GTEST_SKIP() << "python3 not available";
  TempDir d;
  std::string path = d.file("t.json");
  pzrt_trace *t = pzrt_trace_open(path.c_str(), 1);
  pzrt_trace_event(t, "x", "c", 2, 1.5, 2.5, nullptr);
  pzrt_trace_close(t);
  std::string out;
  ASSERT_EQ(pzrt::test::runCommand(std::string(PZRT_TEST_PYTHON) + " -c \"import json; d=json.load(open('" +
                                       path + "')); e=[x for x in d['traceEvents'] if x['ph']=='X'][0]; "
                                       "print(e['pid'], e['tid'], e['ts'], e['dur'])\"",
                                   &out),
            0);
  EXPECT_EQ(out, "1 2 1.5 2.5\n");
}

} // namespace
