// Reads a JSON array of command texts on stdin and prints, as one JSON array, what AnalyzeShell
// makes of each: {"ok":true,"pipelines":[{"connector":"seq|and|or","stages":[{"argv":[...],
// "redirects":[{"fd":1,"target":"devnull|stdout"}],"offset":N}]}]} or
// {"ok":false,"code":...,"offset":...,"message":...}. Used by shell_diff.py.
#include <iostream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/shell/shell.h"

namespace {

const char* ConnectorName(qvmr::Connector c) {
  switch (c) {
    case qvmr::Connector::kAnd:
      return "and";
    case qvmr::Connector::kOr:
      return "or";
    case qvmr::Connector::kSeq:
      break;
  }
  return "seq";
}

nlohmann::json Dump(const qvmr::ShellResult& r) {
  nlohmann::json out;
  out["ok"] = r.ok;
  if (!r.ok) {
    out["code"] = r.denial.code;
    out["offset"] = r.denial.offset;
    out["message"] = r.denial.message;
    return out;
  }
  out["pipelines"] = nlohmann::json::array();
  for (std::size_t i = 0; i < r.plan.pipelines.size(); ++i) {
    nlohmann::json p;
    p["connector"] = ConnectorName(r.plan.connectors[i]);
    p["stages"] = nlohmann::json::array();
    for (const qvmr::SimpleCommand& c : r.plan.pipelines[i].stages) {
      nlohmann::json s;
      s["argv"] = c.argv;
      s["offset"] = c.offset;
      s["normalized"] = qvmr::NormalizedCommand(c);
      s["redirects"] = nlohmann::json::array();
      for (const qvmr::Redirect& rd : c.redirects) {
        s["redirects"].push_back(
            {{"fd", rd.fd},
             {"target", rd.target == qvmr::Redirect::Target::kDevNull ? "devnull" : "stdout"}});
      }
      p["stages"].push_back(std::move(s));
    }
    out["pipelines"].push_back(std::move(p));
  }
  return out;
}

}  // namespace

int main() {
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  nlohmann::json commands = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (!commands.is_array()) {
    std::cerr << "plan_dump: stdin must be a JSON array of strings\n";
    return 2;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const nlohmann::json& c : commands) {
    if (!c.is_string()) {
      std::cerr << "plan_dump: every entry must be a string\n";
      return 2;
    }
    out.push_back(Dump(qvmr::AnalyzeShell(c.get<std::string>())));
  }
  std::cout << out.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}
