// Shell analysis: every accepted construct's plan, every refused construct's code and offset.
#include "engine/shell/shell.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace qvmr {
namespace {

using Argv = std::vector<std::string>;
using ::testing::ElementsAre;

// All stages of all pipelines, in order.
std::vector<Argv> Argvs(const Plan& plan) {
  std::vector<Argv> out;
  for (const Pipeline& p : plan.pipelines) {
    for (const SimpleCommand& c : p.stages) out.push_back(c.argv);
  }
  return out;
}

Plan MustAccept(std::string_view text, const ShellLimits& limits = {}) {
  ShellResult r = AnalyzeShell(text, limits);
  EXPECT_TRUE(r.ok) << "text: " << text << "\ndenied: " << r.denial.code << " at "
                    << r.denial.offset << ": " << r.denial.message;
  EXPECT_EQ(r.plan.pipelines.size(), r.plan.connectors.size());
  return r.plan;
}

std::vector<Argv> ArgvsOf(std::string_view text) {
  return Argvs(MustAccept(text));
}

struct DenyCase {
  std::string text;
  std::string code;
  std::size_t offset;
};

void PrintTo(const DenyCase& c, std::ostream* os) {
  *os << "\"" << c.text << "\"";
}

class ShellDenyTest : public ::testing::TestWithParam<DenyCase> {};

TEST_P(ShellDenyTest, CodeAndOffset) {
  const DenyCase& c = GetParam();
  ShellResult r = AnalyzeShell(c.text);
  ASSERT_FALSE(r.ok) << c.text;
  EXPECT_EQ(r.denial.code, c.code) << c.text << ": " << r.denial.message;
  EXPECT_EQ(r.denial.offset, c.offset) << c.text << ": " << r.denial.message;
  EXPECT_FALSE(r.denial.message.empty());
  EXPECT_LE(r.denial.offset, c.text.size());
}

// Each construct of shell.h's list of reason codes, with the byte offset of the construct.
INSTANTIATE_TEST_SUITE_P(
    Constructs, ShellDenyTest,
    ::testing::Values(
        DenyCase{"echo $(id)", "command-substitution", 5},
        DenyCase{"echo `id`", "command-substitution", 5},
        DenyCase{"echo \"x$(id)\"", "command-substitution", 7},
        DenyCase{"echo \"`id`\"", "command-substitution", 6},
        DenyCase{"echo $\\\n(id)", "command-substitution", 5},
        DenyCase{"diff <(a) b", "process-substitution", 5},
        DenyCase{"tee >(a)", "process-substitution", 4},
        DenyCase{"echo x>(a)", "process-substitution", 6},
        DenyCase{"echo 2>(a)", "process-substitution", 6},
        DenyCase{"echo $((1+1))", "arithmetic", 5}, DenyCase{"((x=1))", "arithmetic", 0},
        DenyCase{"a; (\\\n(x))", "arithmetic", 3}, DenyCase{"echo $[1]", "arithmetic", 5},
        DenyCase{"echo $HOME", "variable", 5}, DenyCase{"echo ${x}", "variable", 5},
        DenyCase{"echo $'\\x41'", "variable", 5}, DenyCase{"echo $\"x\"", "variable", 5},
        DenyCase{"echo \"a$x\"", "variable", 7}, DenyCase{"echo $", "variable", 5},
        DenyCase{"echo a$?", "variable", 6}, DenyCase{"ls *", "glob", 3},
        DenyCase{"ls a?b", "glob", 4}, DenyCase{"ls [ab]", "glob", 3},
        DenyCase{"ls 'x'*", "glob", 6}, DenyCase{"[ -f x ]", "glob", 0},
        DenyCase{"echo +(a)", "glob", 5}, DenyCase{"echo @(a)", "glob", 5},
        DenyCase{"ls ~", "tilde", 3}, DenyCase{"ls ~root/x", "tilde", 3},
        DenyCase{"echo a=~", "tilde", 7}, DenyCase{"echo PATH=/x:~/bin", "tilde", 13},
        DenyCase{"echo {a,b}", "brace", 5}, DenyCase{"echo x{1..3}", "brace", 6},
        DenyCase{"echo }", "brace", 5}, DenyCase{"{ a; }", "group", 0},
        DenyCase{"a && { b; }", "group", 5}, DenyCase{"(a)", "subshell", 0},
        DenyCase{"a | (b)", "subshell", 4}, DenyCase{"f() { a; }", "function", 0},
        DenyCase{"f () { a; }", "function", 0}, DenyCase{"function f { a; }", "function", 0},
        DenyCase{"cat <<EOF\nx\nEOF\n", "here-document", 4},
        DenyCase{"cat <<-EOF\nx\nEOF\n", "here-document", 4},
        DenyCase{"cat 3<<EOF\nx\nEOF\n", "here-document", 4},
        DenyCase{"cat <<<x", "here-string", 4}, DenyCase{"a &", "background", 2},
        DenyCase{"a&b", "background", 1}, DenyCase{"a && b & c", "background", 7},
        DenyCase{"a |& b", "pipe-stderr", 2}, DenyCase{"A=1 a", "assignment", 0},
        DenyCase{"A=1", "assignment", 0}, DenyCase{"A+=1 a", "assignment", 0},
        DenyCase{"a[1]=x b", "assignment", 0}, DenyCase{">/dev/null A=1 a", "assignment", 11},
        DenyCase{"A=$(id) a", "assignment", 0}, DenyCase{"x; _a=b c", "assignment", 3},
        DenyCase{"a >f", "redirection", 2}, DenyCase{"a >>/dev/null", "redirection", 2},
        DenyCase{"a </dev/null", "redirection", 2}, DenyCase{"a 0</dev/null", "redirection", 2},
        DenyCase{"a 3>/dev/null", "redirection", 2}, DenyCase{"a 01>/dev/null", "redirection", 2},
        DenyCase{"a &>/dev/null", "redirection", 2}, DenyCase{"a &>>/dev/null", "redirection", 2},
        DenyCase{"a >&/dev/null", "redirection", 2}, DenyCase{"a >&2", "redirection", 2},
        DenyCase{"a 1>&2", "redirection", 2}, DenyCase{"a 2>&-", "redirection", 2},
        DenyCase{"a 2>&1-", "redirection", 2}, DenyCase{"a 2>&\"1\"", "redirection", 2},
        DenyCase{"a >|/dev/null", "redirection", 2}, DenyCase{"a <>/dev/null", "redirection", 2},
        DenyCase{"a <&0", "redirection", 2}, DenyCase{"a >/dev/null2", "redirection", 2},
        DenyCase{"a >/dev//null", "redirection", 2}, DenyCase{">/dev/null", "redirection", 0},
        DenyCase{"a 2>/dev/null 1>&2", "redirection", 14},
        DenyCase{"if true; then a; fi", "control-flow", 0},
        DenyCase{"while a; do b; done", "control-flow", 0},
        DenyCase{"for x in a; do b; done", "control-flow", 0},
        DenyCase{"case a in a) b;; esac", "control-flow", 0}, DenyCase{"! a", "control-flow", 0},
        DenyCase{"a | ! b", "control-flow", 4}, DenyCase{"[[ -f x ]]", "control-flow", 0},
        DenyCase{"time a", "control-flow", 0}, DenyCase{"coproc a", "control-flow", 0},
        DenyCase{"a; done", "control-flow", 3}, DenyCase{"i\\\nf a", "control-flow", 0},
        DenyCase{"env a", "wrapper", 0}, DenyCase{"/usr/bin/env a", "wrapper", 0},
        DenyCase{"'env' a", "wrapper", 0}, DenyCase{"e\\nv a", "wrapper", 0},
        DenyCase{"sudo a", "wrapper", 0}, DenyCase{"a | xargs b", "wrapper", 4},
        DenyCase{"bash -c a", "wrapper", 0}, DenyCase{"/bin/sh -c a", "wrapper", 0},
        DenyCase{"python3.11 -c x", "wrapper", 0}, DenyCase{". ./x", "wrapper", 0},
        DenyCase{"\\time a", "wrapper", 0}, DenyCase{">/dev/null exec a", "wrapper", 11},
        DenyCase{"find / -name x -exec rm '{}' ';'", "wrapper", 15},
        DenyCase{"find . -okdir x ';'", "wrapper", 7}, DenyCase{"a\rb", "control-character", 1},
        DenyCase{"echo 'a\x1b[0m'", "control-character", 7},
        DenyCase{"a # \x7f", "control-character", 4},
        DenyCase{std::string("a\0b", 3), "control-character", 1}, DenyCase{"a |", "syntax", 2},
        DenyCase{"| a", "syntax", 0}, DenyCase{"a &&", "syntax", 2},
        DenyCase{"a ||\n\n", "syntax", 2}, DenyCase{"; a", "syntax", 0},
        DenyCase{"a;;", "syntax", 1}, DenyCase{"a ; ; b", "syntax", 4},
        DenyCase{"a\n;b", "syntax", 2}, DenyCase{"a\n| b", "syntax", 2},
        DenyCase{"a\n&& b", "syntax", 2}, DenyCase{"a && || b", "syntax", 5},
        DenyCase{"& a", "syntax", 0}, DenyCase{"echo 'x", "syntax", 5},
        DenyCase{"echo \"x", "syntax", 5}, DenyCase{"echo \"x\\", "syntax", 5},
        DenyCase{"echo x)", "syntax", 6}, DenyCase{"echo a (b)", "syntax", 7},
        DenyCase{"a >", "syntax", 2}, DenyCase{"a > ;", "syntax", 2},
        DenyCase{"a >#x", "syntax", 2}, DenyCase{"a 2>&", "syntax", 2},
        DenyCase{"a |\\\n| b", "syntax", 3}, DenyCase{"a &\\\n& b", "syntax", 3},
        DenyCase{"a 2>\\\n&1", "syntax", 4}, DenyCase{"a # c\\\nb", "syntax", 5},
        DenyCase{"a 'b'#c", "syntax", 5}, DenyCase{"a \"\"#c", "syntax", 4},
        DenyCase{"", "empty", 0}, DenyCase{" \t ", "empty", 0}, DenyCase{"\n\n", "empty", 0},
        DenyCase{"# just a comment\n# and another", "empty", 0}, DenyCase{"\\\n", "empty", 0}));

TEST(Shell, TrickyQuotingMakesOneWord) {
  Plan plan = MustAccept("'rm'' -rf /'");
  ASSERT_EQ(plan.pipelines.size(), 1u);
  ASSERT_EQ(plan.pipelines[0].stages.size(), 1u);
  EXPECT_THAT(plan.pipelines[0].stages[0].argv, ElementsAre("rm -rf /"));
  EXPECT_EQ(NormalizedCommand(plan.pipelines[0].stages[0]), "rm -rf /");
  EXPECT_THAT(ArgvsOf("q\"v\"m-ls --running"), ElementsAre(Argv{"qvm-ls", "--running"}));
  EXPECT_THAT(ArgvsOf("echo \\;"), ElementsAre(Argv{"echo", ";"}));
  EXPECT_THAT(ArgvsOf("echo a\\ b 'c d' \"e f\""), ElementsAre(Argv{"echo", "a b", "c d", "e f"}));
  EXPECT_THAT(ArgvsOf("echo 'it'\\''s'"), ElementsAre(Argv{"echo", "it's"}));
  EXPECT_THAT(ArgvsOf("\\if \"then\" f\\i"), ElementsAre(Argv{"if", "then", "fi"}));
}

TEST(Shell, EmptyQuotedWordsAreKept) {
  EXPECT_THAT(ArgvsOf("echo '' \"\" ''\"\" a"), ElementsAre(Argv{"echo", "", "", "", "a"}));
  EXPECT_THAT(ArgvsOf("'' x"), ElementsAre(Argv{"", "x"}));
  EXPECT_THAT(ArgvsOf("echo a \\\n b"), ElementsAre(Argv{"echo", "a", "b"}));
}

TEST(Shell, BackslashRules) {
  // Inside double quotes a backslash escapes only $ ` " \ and newline.
  EXPECT_THAT(ArgvsOf(R"(echo "\$ \` \" \\ \a \n \'")"),
              ElementsAre(Argv{"echo", R"($ ` " \ \a \n \')"}));
  // Inside single quotes nothing is special, not even backslash-newline.
  EXPECT_THAT(ArgvsOf("echo 'a\\\nb' '\\'"), ElementsAre(Argv{"echo", "a\\\nb", "\\"}));
  // Outside quotes a backslash quotes the next byte; backslash-newline disappears, even inside
  // double quotes and in the middle of a word.
  EXPECT_THAT(ArgvsOf("e\\\ncho \\a\\$\\\\ \"x\\\ny\""), ElementsAre(Argv{"echo", "a$\\", "xy"}));
  // An escaped backslash does not start a continuation: the newline separates commands.
  EXPECT_THAT(ArgvsOf("echo \\\\\necho b"), ElementsAre(Argv{"echo", "\\"}, Argv{"echo", "b"}));
  EXPECT_THAT(ArgvsOf("echo \"\\\\\n\""), ElementsAre(Argv{"echo", "\\\n"}));
  // A backslash that ends the text is kept, as bash does.
  EXPECT_THAT(ArgvsOf("echo a\\"), ElementsAre(Argv{"echo", "a\\"}));
  // Quoted specials are literal.
  EXPECT_THAT(ArgvsOf("echo \\* '?' \"[\" \\~ '{a,b}' \\$HOME '$(id)' \"#\" \\#"),
              ElementsAre(Argv{"echo", "*", "?", "[", "~", "{a,b}", "$HOME", "$(id)", "#", "#"}));
}

TEST(Shell, LiteralCharactersThatAreNotSpecial) {
  EXPECT_THAT(ArgvsOf("echo a#b a~ x:~ --opt=~ ! ] % @ ^ , = a=b"),
              ElementsAre(Argv{"echo", "a#b", "a~", "x:~", "--opt=~", "!", "]", "%", "@", "^", ",",
                               "=", "a=b"}));
  // Reserved words count only in command position ({ and [[ are still brace and glob there).
  EXPECT_THAT(ArgvsOf("echo if then fi ! time done"),
              ElementsAre(Argv{"echo", "if", "then", "fi", "!", "time", "done"}));
  EXPECT_EQ(AnalyzeShell("echo {").denial.code, "brace");
  EXPECT_EQ(AnalyzeShell("echo [[").denial.code, "glob");
  // Bytes >= 0x80 (UTF-8 or not) are ordinary.
  EXPECT_THAT(ArgvsOf("echo h\xc3\xa9llo \xff\xfe"),
              ElementsAre(Argv{"echo", "h\xc3\xa9llo", "\xff\xfe"}));
  EXPECT_THAT(ArgvsOf("echo\ta\t\tb"), ElementsAre(Argv{"echo", "a", "b"}));
}

TEST(Shell, Comments) {
  EXPECT_THAT(ArgvsOf("echo a # comment $(id) `x` 'unterminated"), ElementsAre(Argv{"echo", "a"}));
  EXPECT_THAT(ArgvsOf("# first\necho a;# c\necho b"),
              ElementsAre(Argv{"echo", "a"}, Argv{"echo", "b"}));
  EXPECT_THAT(ArgvsOf("echo a |# c\n  grep a"), ElementsAre(Argv{"echo", "a"}, Argv{"grep", "a"}));
}

TEST(Shell, PlanStructure) {
  Plan plan = MustAccept("a | b 2>&1 | c && d || e; f\ng");
  ASSERT_EQ(plan.pipelines.size(), 5u);
  EXPECT_THAT(plan.connectors, ElementsAre(Connector::kSeq, Connector::kAnd, Connector::kOr,
                                           Connector::kSeq, Connector::kSeq));
  ASSERT_EQ(plan.pipelines[0].stages.size(), 3u);
  EXPECT_THAT(plan.pipelines[0].stages[2].argv, ElementsAre("c"));
  EXPECT_EQ(plan.pipelines[0].stages[0].offset, 0u);
  EXPECT_EQ(plan.pipelines[0].stages[1].offset, 4u);
  EXPECT_EQ(plan.pipelines[0].stages[2].offset, 13u);
  EXPECT_EQ(plan.pipelines[1].stages[0].offset, 18u);
  EXPECT_EQ(plan.pipelines[4].stages[0].offset, 28u);
  for (std::size_t i = 1; i < 5; ++i) EXPECT_EQ(plan.pipelines[i].stages.size(), 1u);
}

TEST(Shell, NewlinesAfterOperators) {
  Plan plan = MustAccept("a &&\n\n b ||\n c |\n # comment\n d;\n\n e;");
  EXPECT_THAT(plan.connectors,
              ElementsAre(Connector::kSeq, Connector::kAnd, Connector::kOr, Connector::kSeq));
  EXPECT_THAT(Argvs(plan), ElementsAre(Argv{"a"}, Argv{"b"}, Argv{"c"}, Argv{"d"}, Argv{"e"}));
  EXPECT_EQ(plan.pipelines[2].stages.size(), 2u);
  EXPECT_THAT(ArgvsOf("\n\n a \n\n"), ElementsAre(Argv{"a"}));
  EXPECT_THAT(ArgvsOf("a \\\n| b \\\n&& c"), ElementsAre(Argv{"a"}, Argv{"b"}, Argv{"c"}));
}

TEST(Shell, RedirectionsInSourceOrder) {
  Plan plan = MustAccept("a 2>&1 >/dev/null b");
  const SimpleCommand& c = plan.pipelines[0].stages[0];
  EXPECT_THAT(c.argv, ElementsAre("a", "b"));
  ASSERT_EQ(c.redirects.size(), 2u);
  EXPECT_EQ(c.redirects[0].fd, 2);
  EXPECT_EQ(c.redirects[0].target, Redirect::Target::kStdout);
  EXPECT_EQ(c.redirects[1].fd, 1);
  EXPECT_EQ(c.redirects[1].target, Redirect::Target::kDevNull);

  struct Case {
    std::string text;
    Argv argv;
    std::vector<std::pair<int, Redirect::Target>> redirects;
  };
  const auto kNull = Redirect::Target::kDevNull;
  const auto kOut = Redirect::Target::kStdout;
  for (const Case& k : std::vector<Case>{
           {"a >/dev/null", {"a"}, {{1, kNull}}},
           {"a > /dev/null", {"a"}, {{1, kNull}}},
           {"a 1>/dev/null", {"a"}, {{1, kNull}}},
           {"a 2> /dev/null", {"a"}, {{2, kNull}}},
           {"a 2>& 1", {"a"}, {{2, kOut}}},
           {"a 2>&1>/dev/null", {"a"}, {{2, kOut}, {1, kNull}}},
           {">/dev/null 2>&1 a x", {"a", "x"}, {{1, kNull}, {2, kOut}}},
           {"a >'/dev/null' 2>\"/dev/null\" >/dev/nu\\ll",
            {"a"},
            {{1, kNull}, {2, kNull}, {1, kNull}}},
           {"a2>/dev/null", {"a2"}, {{1, kNull}}},
           {"a \"2\">/dev/null", {"a", "2"}, {{1, kNull}}},
           {"a \\2>/dev/null", {"a", "2"}, {{1, kNull}}},
           {"a 2 >/dev/null", {"a", "2"}, {{1, kNull}}},
           {"a 2\\\n>/dev/null", {"a"}, {{2, kNull}}},
           {"a>/dev/null", {"a"}, {{1, kNull}}},
       }) {
    Plan p = MustAccept(k.text);
    ASSERT_EQ(p.pipelines.size(), 1u) << k.text;
    const SimpleCommand& s = p.pipelines[0].stages[0];
    EXPECT_EQ(s.argv, k.argv) << k.text;
    ASSERT_EQ(s.redirects.size(), k.redirects.size()) << k.text;
    for (std::size_t i = 0; i < s.redirects.size(); ++i) {
      EXPECT_EQ(s.redirects[i].fd, k.redirects[i].first) << k.text << " #" << i;
      EXPECT_EQ(s.redirects[i].target, k.redirects[i].second) << k.text << " #" << i;
    }
  }
  EXPECT_EQ(MustAccept(">/dev/null a").pipelines[0].stages[0].offset, 0u);
  EXPECT_EQ(MustAccept("x; 2>/dev/null a").pipelines[1].stages[0].offset, 3u);
}

TEST(Shell, ControlCharacters) {
  for (int b = 0; b < 0x100; ++b) {
    std::string text = "echo 'x";
    text.push_back(static_cast<char>(b));
    text += "'";
    ShellResult r = AnalyzeShell(text);
    bool control = (b < 0x20 && b != '\t' && b != '\n') || b == 0x7f;
    if (control) {
      ASSERT_FALSE(r.ok) << b;
      EXPECT_EQ(r.denial.code, "control-character") << b;
      EXPECT_EQ(r.denial.offset, 7u) << b;
    } else if (b != '\'') {
      ASSERT_TRUE(r.ok) << b << ": " << r.denial.code;
      EXPECT_EQ(r.plan.pipelines[0].stages[0].argv[1], text.substr(6, 2)) << b;
    }
  }
  // Checked before anything else, in comments too.
  ShellResult r = AnalyzeShell("echo $(x) # \x01");
  EXPECT_EQ(r.denial.code, "control-character");
  EXPECT_EQ(r.denial.offset, 12u);
}

TEST(Shell, Limits) {
  ShellLimits limits;
  limits.max_text_bytes = 20;
  EXPECT_TRUE(AnalyzeShell(std::string(20, 'a'), limits).ok);
  ShellResult r = AnalyzeShell(std::string(21, 'a'), limits);
  EXPECT_EQ(r.denial.code, "limit");
  EXPECT_EQ(r.denial.offset, 20u);

  limits = ShellLimits{};
  limits.max_commands = 3;
  EXPECT_TRUE(AnalyzeShell("a|b;c", limits).ok);
  r = AnalyzeShell("a|b;c&&d", limits);
  EXPECT_EQ(r.denial.code, "limit");
  EXPECT_EQ(r.denial.offset, 7u);

  limits = ShellLimits{};
  limits.max_words = 3;
  EXPECT_TRUE(AnalyzeShell("a b c >/dev/null; d e f", limits).ok);
  r = AnalyzeShell("a b c; d e f g", limits);
  EXPECT_EQ(r.denial.code, "limit");
  EXPECT_EQ(r.denial.offset, 13u);

  limits = ShellLimits{};
  limits.max_word_bytes = 4;
  EXPECT_TRUE(AnalyzeShell("abcd 'ab'\"cd\" a\\\nbcd", limits).ok);
  r = AnalyzeShell("abcd x'ab'\"cd\"", limits);
  EXPECT_EQ(r.denial.code, "limit");
  EXPECT_EQ(r.denial.offset, 5u);
  r = AnalyzeShell("a >/dev/null", limits);
  EXPECT_EQ(r.denial.code, "limit");  // A redirection target is a word too.
  EXPECT_EQ(r.denial.offset, 3u);

  limits = ShellLimits{};
  limits.max_redirects = 2;
  EXPECT_TRUE(AnalyzeShell("a >/dev/null 2>&1", limits).ok);
  r = AnalyzeShell("a >/dev/null 2>&1 2>/dev/null", limits);
  EXPECT_EQ(r.denial.code, "limit");
  EXPECT_EQ(r.denial.offset, 18u);

  // The defaults.
  std::string many = "a";
  for (int i = 1; i < 64; ++i) many += ";a";
  EXPECT_TRUE(AnalyzeShell(many).ok);
  EXPECT_EQ(AnalyzeShell(many + ";a").denial.code, "limit");
  std::string words = "echo";
  for (int i = 1; i < 256; ++i) words += " w";
  EXPECT_TRUE(AnalyzeShell(words).ok);
  EXPECT_EQ(AnalyzeShell(words + " w").denial.code, "limit");
  EXPECT_TRUE(AnalyzeShell("echo " + std::string(65536, 'x')).ok);
  EXPECT_EQ(AnalyzeShell("echo " + std::string(65537, 'x')).denial.code, "limit");
  std::string big(1 << 20, 'x');
  EXPECT_EQ(AnalyzeShell(big).denial.code, "limit");  // one word, too long
  EXPECT_EQ(AnalyzeShell(big + "x").denial.offset, std::size_t{1} << 20);
}

TEST(Shell, FirstProblemWins) {
  // Scanning stops at the first refused construct, in text order.
  ShellResult r = AnalyzeShell("echo *$(id)");
  EXPECT_EQ(r.denial.code, "glob");
  r = AnalyzeShell("env $(id)");
  EXPECT_EQ(r.denial.code, "wrapper");
  r = AnalyzeShell("echo a; sudo x &");
  EXPECT_EQ(r.denial.code, "wrapper");
  EXPECT_EQ(r.denial.offset, 8u);
}

TEST(Shell, NormalizedCommand) {
  SimpleCommand c;
  EXPECT_EQ(NormalizedCommand(c), "");
  c.argv = {"rm", "-rf", "/"};
  EXPECT_EQ(NormalizedCommand(c), "rm -rf /");
  Plan plan = MustAccept("rm  \t'-rf'  \"/\" >/dev/null");
  EXPECT_EQ(NormalizedCommand(plan.pipelines[0].stages[0]), "rm -rf /");
}

}  // namespace
}  // namespace qvmr
