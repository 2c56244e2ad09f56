using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using Assp.Config.Regexes;
using Xunit.Sdk;

namespace Assp.Config.Tests;

/// <summary>
/// Translates Perl patterns and runs the result with .NET. Every expected outcome in the tables
/// below is what Perl 5.36 answers for the same pattern and input (checked with
/// perl -Mfeature=unicode_strings, so Perl uses Unicode rules as .NET does).
/// </summary>
public class PerlRegexTranslatorTests
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(5);

    private static Regex Compile(string perl, bool ignoreCase = false, RegexOptions extra = RegexOptions.None)
    {
        var t = PerlRegexTranslator.Translate(perl, ignoreCase);
        return new Regex(t.Pattern, t.Options | extra | RegexOptions.CultureInvariant, MatchTimeout);
    }

    private static string Show(string perl)
    {
        try
        {
            var t = PerlRegexTranslator.Translate(perl);
            return $"{perl}  =>  {t.Pattern}  [{t.Options}]";
        }
        catch (PerlRegexException ex)
        {
            return $"{perl}  =>  {ex.Message}";
        }
    }

    [Theory]
    // anchors
    [InlineData(@"a\z", "a", true)]
    [InlineData(@"a\z", "a\n", false)]
    [InlineData(@"a\Z", "a\n", true)]
    [InlineData(@"a\Z", "a\n\n", false)]
    [InlineData(@"\Aa", "ba", false)]
    [InlineData(@"\Aa", "ab", true)]
    [InlineData(@"a$", "a\n", true)]
    [InlineData(@"a$", "a\nb", false)]
    [InlineData(@"(?m)a$", "a\nb", true)]
    [InlineData(@"(?m)^b", "a\nb", true)]
    [InlineData(@"^b", "a\nb", false)]
    [InlineData(@"(?m)^$", "a\n", false)]
    [InlineData(@"(?m)^\z", "a\n", false)]
    [InlineData(@"(?m)^x", "\nx", true)]
    [InlineData(@"(?m)^$", "", true)]
    [InlineData(@"(?m:^b)", "a\nb", true)]
    [InlineData(@"\Ga", "ba", false)]
    [InlineData(@"\Ga", "ab", true)]
    [InlineData(@"(?:\Gb|c)", "ab", false)]
    [InlineData(@"\bfoo\b", "a foo b", true)]
    [InlineData(@"\bfoo\b", "afoob", false)]
    [InlineData(@"\Boo\B", "food", true)]
    // inline modifiers
    [InlineData(@"(?i)viagra", "Buy VIAGRA now", true)]
    [InlineData(@"viagra", "VIAGRA", false)]
    [InlineData(@"a(?i)b", "aB", true)]
    [InlineData(@"a(?i)b", "AB", false)]
    [InlineData(@"(a(?i)b|c)", "C", true)]
    [InlineData(@"(?i:a)b", "AB", false)]
    [InlineData(@"(?i:a)b", "Ab", true)]
    [InlineData(@"(?^i:a)b", "Ab", true)]
    [InlineData(@"(?i)(?^:a)", "A", false)]
    [InlineData(@"(?i)(?^:a)b", "aB", true)]
    [InlineData(@"(?i)a(?-i)b", "AB", false)]
    [InlineData(@"(?i)a(?-i)b", "Ab", true)]
    [InlineData(@"(?s)a.b", "a\nb", true)]
    [InlineData(@"a.b", "a\nb", false)]
    [InlineData(@"(?s:a.)b", "a\nb", true)]
    [InlineData(@"(?^s:.)", "\n", true)]
    [InlineData(@"(?x) a b c ", "abc", true)]
    [InlineData(@"(?x) a\ b ", "a b", true)]
    [InlineData("(?x)a # comment\n b", "ab", true)]
    [InlineData("(?x)a#comment\n+$", "aa", true)]
    [InlineData(@"(?x)^a +$", "aaa", true)]
    [InlineData(@"(?x)^a{2} ?$", "aa", true)]
    [InlineData(@"(?x)^[ ]$", " ", true)]
    [InlineData(@"(?xx)^[a b]$", " ", false)]
    [InlineData(@"(?xx)^[a b]$", "b", true)]
    [InlineData(@"(?x:a b)c d", "abc d", true)]
    [InlineData(@"(?x)a\#b", "a#b", true)]
    [InlineData(@"(?n)(a)(?<x>b)\k<x>", "abb", true)]
    [InlineData(@"(?a)^\d$", "1", true)]
    [InlineData(@"(?u)^\w$", "é", true)]
    [InlineData(@"(?l)a", "a", true)]
    [InlineData(@"(?d)a", "a", true)]
    [InlineData(@"(?p)a", "a", true)]
    [InlineData(@"(?aa)a", "a", true)]
    [InlineData(@"a(?#comment)b", "ab", true)]
    [InlineData(@"^a(?#c)+$", "aaa", true)]
    [InlineData(@"^(?i)A$", "a", true)]
    // \h \v \R \N
    [InlineData(@"^\h$", "\t", true)]
    [InlineData(@"^\h$", "\u00A0", true)]
    [InlineData(@"^\h$", "\u3000", true)]
    [InlineData(@"^\h$", "\n", false)]
    [InlineData(@"^\H$", "a", true)]
    [InlineData(@"^\H$", " ", false)]
    [InlineData(@"^\v$", "\n", true)]
    [InlineData(@"^\v$", "\u000B", true)]
    [InlineData(@"^\v$", "\u2028", true)]
    [InlineData(@"^\v$", "\u0085", true)]
    [InlineData(@"^\v$", " ", false)]
    [InlineData(@"^\V$", "a", true)]
    [InlineData(@"^\V$", "\r", false)]
    [InlineData(@"^\R$", "\r\n", true)]
    [InlineData(@"^\R$", "\n", true)]
    [InlineData(@"^\R$", "\u2029", true)]
    [InlineData(@"^\R$", "a", false)]
    [InlineData(@"^\R\n$", "\r\n", false)]
    [InlineData(@"^\R{2}$", "\r\n\n", true)]
    [InlineData(@"^a\Nb$", "axb", true)]
    [InlineData(@"^a\Nb$", "a\nb", false)]
    [InlineData(@"(?s)^a\Nb$", "a\nb", false)]
    // numeric escapes
    [InlineData(@"\x41", "A", true)]
    [InlineData(@"^\x{263A}$", "☺", true)]
    [InlineData(@"^\x{1F600}$", "\U0001F600", true)]
    [InlineData(@"^\x{1F600}+$", "\U0001F600\U0001F600", true)]
    [InlineData(@"^\x{41}1$", "A1", true)]
    [InlineData(@"^\x4$", "\u0004", true)]
    [InlineData(@"^\o{101}$", "A", true)]
    [InlineData(@"^\101$", "A", true)]
    [InlineData(@"^\0$", "\0", true)]
    [InlineData(@"^\012$", "\n", true)]
    [InlineData(@"^\e$", "\u001B", true)]
    [InlineData(@"^\cA$", "\u0001", true)]
    [InlineData(@"^\c[$", "\u001B", true)]
    [InlineData(@"^\c?$", "\u007F", true)]
    [InlineData(@"^\N{U+263A}$", "☺", true)]
    [InlineData(@"^\t\n$", "\t\n", true)]
    // \Q...\E
    [InlineData(@"\Qa.b\E", "a.b", true)]
    [InlineData(@"\Qa.b\E", "axb", false)]
    [InlineData(@"^\Qa+b", "a+b", true)]
    [InlineData(@"^\Q[x]\E+$", "[x]]", true)]
    [InlineData(@"^\Qa\E+$", "aaa", true)]
    [InlineData(@"^\Q(?i)\E$", "(?i)", true)]
    // escaped delimiters and unknown escapes
    [InlineData(@"^a\/b$", "a/b", true)]
    [InlineData(@"^user\@example\.com$", "user@example.com", true)]
    [InlineData(@"^\y$", "y", true)]
    [InlineData(@"^\_$", "_", true)]
    [InlineData(@"^\-$", "-", true)]
    [InlineData(@"^\#$", "#", true)]
    [InlineData(@"^\""\'$", "\"'", true)]
    [InlineData(@"^\<\>$", "<>", true)]
    [InlineData(@"^\ $", " ", true)]
    // POSIX classes
    [InlineData(@"^[[:alpha:]]$", "a", true)]
    [InlineData(@"^[[:alpha:]]$", "é", true)]
    [InlineData(@"^[[:alpha:]]$", "1", false)]
    [InlineData(@"^[[:digit:]]$", "5", true)]
    [InlineData(@"^[[:digit:]]$", "a", false)]
    [InlineData(@"^[[:space:]]$", "\t", true)]
    [InlineData(@"^[[:space:]]$", "x", false)]
    [InlineData(@"^[[:alnum:]]$", "_", false)]
    [InlineData(@"^[[:alnum:]]$", "7", true)]
    [InlineData(@"^[[:upper:]]$", "A", true)]
    [InlineData(@"^[[:upper:]]$", "a", false)]
    [InlineData(@"^[[:lower:]]$", "a", true)]
    [InlineData(@"^[[:lower:]]$", "A", false)]
    [InlineData(@"(?i)^[[:upper:]]$", "a", true)]
    [InlineData(@"(?i)^[[:lower:]]$", "A", true)]
    [InlineData(@"^[[:punct:]]$", "$", true)]
    [InlineData(@"^[[:punct:]]$", "!", true)]
    [InlineData(@"^[[:punct:]]$", "a", false)]
    [InlineData(@"^[[:xdigit:]]+$", "c0ffee", true)]
    [InlineData(@"^[[:xdigit:]]$", "g", false)]
    [InlineData(@"^[[:word:]]$", "_", true)]
    [InlineData(@"^[[:cntrl:]]$", "\u0001", true)]
    [InlineData(@"^[[:cntrl:]]$", " ", false)]
    [InlineData(@"^[[:print:]]$", " ", true)]
    [InlineData(@"^[[:print:]]$", "\n", false)]
    [InlineData(@"^[[:graph:]]$", " ", false)]
    [InlineData(@"^[[:graph:]]$", "x", true)]
    [InlineData(@"^[[:blank:]]$", "\t", true)]
    [InlineData(@"^[[:blank:]]$", "\n", false)]
    [InlineData(@"^[[:ascii:]]$", "~", true)]
    [InlineData(@"^[[:ascii:]]$", "é", false)]
    [InlineData(@"^[[:^alpha:]]$", "1", true)]
    [InlineData(@"^[[:^alpha:]]$", "a", false)]
    [InlineData(@"^[[:^digit:]x]$", "x", true)]
    [InlineData(@"^[[:^digit:]x]$", "5", false)]
    [InlineData(@"^[[:^digit:]x]$", "a", true)]
    [InlineData(@"^[^[:^alpha:]x]$", "a", true)]
    [InlineData(@"^[^[:^alpha:]x]$", "x", false)]
    [InlineData(@"^[^[:^alpha:]x]$", "1", false)]
    [InlineData(@"^[[:alpha:][:digit:]_]+$", "a_1", true)]
    [InlineData(@"^[[:alpha]$", "[", true)]
    [InlineData(@"^[[:alpha]$", "h", true)]
    [InlineData(@"^[:alpha:]$", ":", true)]
    // named groups and backreferences
    [InlineData(@"(?<w>\w)\k<w>", "aa", true)]
    [InlineData(@"(?<w>\w)\k<w>", "ab", false)]
    [InlineData(@"(?'w'\w)\k'w'", "bb", true)]
    [InlineData(@"(?P<w>\w)(?P=w)", "cc", true)]
    [InlineData(@"(?<w>\w)\k{w}", "dd", true)]
    [InlineData(@"(?<w>\w)\g{w}", "ee", true)]
    [InlineData(@"^(a)(b)\g{-1}$", "abb", true)]
    [InlineData(@"^(a)(b)\g{-2}$", "aba", true)]
    [InlineData(@"^(a)\g1$", "aa", true)]
    [InlineData(@"^(a)\g{1}$", "aa", true)]
    [InlineData(@"^(a)\g-1$", "aa", true)]
    [InlineData(@"^(?<x>a)(b)\2$", "abb", true)]
    [InlineData(@"^(?<x>a)(b)\2$", "aba", false)]
    [InlineData(@"^(?<x>a)(b)\1$", "aba", true)]
    [InlineData(@"^(a)(?<y>b)(c)\3\2$", "abccb", true)]
    [InlineData(@"^(a)(?<y>b)(c)\3\2$", "abcbc", false)]
    [InlineData(@"^(?:x\1|(c))+$", "cxc", true)]
    [InlineData(@"^(?:x\1|(c))+$", "cxd", false)]
    [InlineData(@"^(?:x\2|(?<n>z)|(c))+$", "cxc", true)]
    [InlineData(@"^(a)\10$", "a\u0008", true)]
    [InlineData(@"^\x{zz}$", "\0", true)]
    [InlineData(@"^\x{4z1}$", "\u0004", true)]
    [InlineData(@"^\N{2}$", "ab", true)]
    [InlineData(@"^\N{,2}$", "", true)]
    [InlineData(@"^(?(2)a|b)$", "b", true)]
    [InlineData(@"^(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\10$", "abcdefghijj", true)]
    [InlineData(@"(?i)^(a)\1$", "aA", true)]
    [InlineData(@"^(?<a>x)|(?<a>y)\k<a>$", "x", true)]
    // conditionals
    [InlineData(@"^(a)?(?(1)b|c)$", "ab", true)]
    [InlineData(@"^(a)?(?(1)b|c)$", "c", true)]
    [InlineData(@"^(a)?(?(1)b|c)$", "b", false)]
    [InlineData(@"^(?<q>"")?\w+(?(<q>)"")$", "\"abc\"", true)]
    [InlineData(@"^(?<q>"")?\w+(?(<q>)"")$", "abc", true)]
    [InlineData(@"^(?<q>"")?\w+(?(<q>)"")$", "\"abc", false)]
    [InlineData(@"^(?(?=\d)\d{3}|[a-z]{2})$", "123", true)]
    [InlineData(@"^(?(?=\d)\d{3}|[a-z]{2})$", "ab", true)]
    [InlineData(@"^(?(?=\d)\d{3}|[a-z]{2})$", "12", false)]
    [InlineData(@"^(?'q'x)?(?('q')y|z)$", "xy", true)]
    [InlineData(@"^(?(?<=a)b|c)", "c", true)]
    [InlineData(@"^(?:(?<n>a)|b)(?(<n>)x|y)$", "by", true)]
    // possessive, atomic, lazy
    [InlineData(@"^a*+a$", "aaa", false)]
    [InlineData(@"^a*a$", "aaa", true)]
    [InlineData(@"^a++b$", "aab", true)]
    [InlineData(@"^a?+a$", "a", false)]
    [InlineData(@"^a{1,3}+a$", "aaa", false)]
    [InlineData(@"^a{1,3}+a$", "aaaa", true)]
    [InlineData(@"^(?:ab)*+$", "abab", true)]
    [InlineData(@"^[ab]++b$", "aab", false)]
    [InlineData(@"^""[^""]*+""$", "\"abc\"", true)]
    [InlineData(@"^(a|ab)++c$", "abc", false)]
    [InlineData(@"^\x{1F600}++x$", "\U0001F600\U0001F600x", true)]
    [InlineData(@"^(?>a*)a$", "aa", false)]
    [InlineData(@"^a{2,3}?$", "aaa", true)]
    [InlineData(@"^a+? b$", "aa b", true)]
    [InlineData(@"(?x)^a+ ?a$", "aa", true)]
    [InlineData(@"(?x)^a* + a$", "aa", false)]
    // braces
    [InlineData(@"^a{2}$", "aa", true)]
    [InlineData(@"^x{foo}$", "x{foo}", true)]
    [InlineData(@"^a{$", "a{", true)]
    [InlineData(@"^a{,3}$", "aaa", true)]
    [InlineData(@"^a{,3}$", "aaaa", false)]
    [InlineData(@"^a{ 1 , 2 }$", "aa", true)]
    [InlineData(@"^a{,}$", "a{,}", true)]
    [InlineData(@"^a{}$", "a{}", true)]
    [InlineData(@"^{3}$", "{3}", false)]
    [InlineData(@"^a|{3}$", "{3}", true)]
    [InlineData(@"^\d{2,}$", "1", false)]
    [InlineData(@"x|a{3,1}", "aaa", false)]
    [InlineData(@"^a{1}}$", "a}", true)]
    // bracketed classes
    [InlineData(@"^[]a]+$", "]a]", true)]
    [InlineData(@"^[^]a]$", "b", true)]
    [InlineData(@"^[^]a]$", "]", false)]
    [InlineData(@"^[a[b]+$", "[ab", true)]
    [InlineData(@"^[\w-]+$", "a-b", true)]
    [InlineData(@"^[a-\d]+$", "a-5", true)]
    [InlineData(@"^[a-\d]+$", "b", false)]
    [InlineData(@"^[\d-z]+$", "-", true)]
    [InlineData(@"^[\d-z]+$", "y", false)]
    [InlineData(@"^[a\-z]+$", "b", false)]
    [InlineData(@"^[-a]$", "-", true)]
    [InlineData(@"^[a-]$", "-", true)]
    [InlineData(@"^[!--]$", ",", true)]
    [InlineData(@"^[a-c-e]+$", "-", true)]
    [InlineData(@"^[a-c-e]+$", "d", false)]
    [InlineData(@"^[\^]$", "^", true)]
    [InlineData(@"^[x^]$", "^", true)]
    [InlineData(@"^[.]$", "x", false)]
    [InlineData(@"^[$]$", "$", true)]
    [InlineData(@"^[|]$", "|", true)]
    [InlineData(@"^[\x{0400}-\x{04FF}]{3,}$", "абв", true)]
    [InlineData(@"[\x{0400}-\x{04FF}]{3,}", "ab", false)]
    [InlineData(@"[\x{0400}-\x{04FF}]{3,}", "xxПривет", true)]
    [InlineData(@"[\x{0400}-\x{04FF}]{3,}", "аb", false)]
    [InlineData(@"^[\x{1F600}-\x{1F64F}]+$", "\U0001F600\U0001F603", true)]
    [InlineData(@"^[\x{1F600}-\x{1F64F}]+$", "a", false)]
    [InlineData(@"^[^\x{1F600}-\x{1F64F}]$", "\U0001F600", false)]
    [InlineData(@"^[^\x{1F600}-\x{1F64F}]$", "\U0001F680", true)]
    [InlineData(@"^[^a\x{1F600}]$", "b", true)]
    [InlineData(@"^[a\x{1F600}]{2}$", "a\U0001F600", true)]
    [InlineData(@"^[\x{FFF0}-\x{10010}]$", "\U00010005", true)]
    [InlineData(@"^[\x{FFF0}-\x{10010}]$", "￵", true)]
    [InlineData(@"^[\x{10000}-\x{10FFFF}]$", "\U0010FFFF", true)]
    [InlineData(@"^[\x{10000}-\x{10FFFF}]$", "z", false)]
    [InlineData(@"^[\h]+$", " \t", true)]
    [InlineData(@"^[\H]$", " ", false)]
    [InlineData(@"^[^\v]$", "\n", false)]
    [InlineData(@"^[\V\d]$", "\n", false)]
    [InlineData(@"^[\V\d]$", "x", true)]
    [InlineData(@"^[^\H\v]$", "\t", true)]
    [InlineData(@"^[^\H\v]$", "x", false)]
    [InlineData(@"^[\N{U+263A}]$", "☺", true)]
    [InlineData(@"^[\Q]\E]$", "]", true)]
    [InlineData(@"^[\Q^-\E]+$", "^-", true)]
    [InlineData(@"^[\b]$", "\u0008", true)]
    [InlineData(@"^[\1]$", "\u0001", true)]
    [InlineData(@"^[\8]$", "8", true)]
    [InlineData(@"^[\e\cA]+$", "\u001B\u0001", true)]
    [InlineData(@"^[\x41-\x{43}]+$", "ABC", true)]
    [InlineData(@"^[\o{141}-c]+$", "abc", true)]
    [InlineData(@"^[\/\@\y]+$", "/@y", true)]
    [InlineData(@"^[\s\S]$", "\n", true)]
    // Unicode properties
    [InlineData(@"^\pL+$", "abc", true)]
    [InlineData(@"^\pL$", "1", false)]
    [InlineData(@"^\pN$", "1", true)]
    [InlineData(@"^\p{Lu}$", "A", true)]
    [InlineData(@"^\p{Lu}$", "a", false)]
    [InlineData(@"^\P{Lu}$", "a", true)]
    [InlineData(@"^\p{^Lu}$", "a", true)]
    [InlineData(@"^\P{^Lu}$", "a", false)]
    [InlineData(@"^\p{L&}$", "a", true)]
    [InlineData(@"^\p{Letter}$", "a", true)]
    [InlineData(@"^\p{IsAlpha}$", "a", true)]
    [InlineData(@"^\p{Alpha}$", "1", false)]
    [InlineData(@"^\p{InCyrillic}+$", "абв", true)]
    [InlineData(@"^\p{IsBasicLatin}+$", "abc", true)]
    [InlineData(@"^\p{IsBasicLatin}+$", "é", false)]
    [InlineData(@"^\p{Block: Cyrillic}$", "ж", true)]
    [InlineData(@"^\p{Gc=Nd}$", "٣", true)]
    [InlineData(@"^\p{XPosixPunct}$", "$", true)]
    [InlineData(@"^\p{Punct}$", "$", false)]
    [InlineData(@"^[\p{Lu}\d]+$", "A1", true)]
    [InlineData(@"(?i)^\p{Lu}$", "a", true)]
    [InlineData(@"^\p{Zs}$", "\u00A0", true)]
    [InlineData(@"^\p{Uppercase Letter}$", "A", true)]
    [InlineData(@"^\p{ lu }$", "A", true)]
    [InlineData(@"^\p{InGreekAndCoptic}$", "α", true)]
    [InlineData(@"^[\P{L}]$", "1", true)]
    [InlineData(@"^[^\P{L}]$", "a", true)]
    [InlineData(@"^[^\p{Alpha}]$", "a", false)]
    [InlineData(@"^[\P{Alpha}x]$", "x", true)]
    [InlineData(@"^[\P{Alpha}x]$", "y", false)]
    [InlineData(@"^\p{PosixAlpha}$", "é", false)]
    [InlineData(@"^\p{Word}+$", "a_1", true)]
    [InlineData(@"^\p{Any}$", "\n", true)]
    [InlineData(@"^\p{Latin1Supplement}$", "é", true)]
    [InlineData(@"^\p{IsL}$", "a", true)]
    // lookaround and alphabetic assertions
    [InlineData(@"(?<=\$)\d+", "$5", true)]
    [InlineData(@"(?<!x)y", "xy", false)]
    [InlineData(@"(?=a)\w", "b", false)]
    [InlineData(@"(?!a)\w", "b", true)]
    [InlineData(@"^(*pla:a)\w$", "a", true)]
    [InlineData(@"(*nla:a)\w", "a", false)]
    [InlineData(@"(*plb:\$)\d", "$5", true)]
    [InlineData(@"(*nlb:x)y", "xy", false)]
    [InlineData(@"^(*atomic:a*)a$", "aa", false)]
    [InlineData(@"^(*positive_lookahead:a)a$", "a", true)]
    // ASSP-style patterns
    [InlineData(@"^(?:\w[\w\.\-]*\.\w{2,6})$", "mail.example.com", true)]
    [InlineData(@"^(?:\w[\w\.\-]*\.\w{2,6})$", "localhost", false)]
    [InlineData(@"^(?:\w[\w\.\-]*\.\w{2,6})$", "[1.2.3.4]", false)]
    [InlineData(@"^(?:\w[\w\.\-]*\.\w{2,6})$", "mail.example.museum1", false)]
    [InlineData(@"^\d+\.\d+\.\d+\.\d+$|^[^\.]+\.?$", "1.2.3.4", true)]
    [InlineData(@"^\d+\.\d+\.\d+\.\d+$|^[^\.]+\.?$", "localhost", true)]
    [InlineData(@"^\d+\.\d+\.\d+\.\d+$|^[^\.]+\.?$", "localhost.", true)]
    [InlineData(@"^\d+\.\d+\.\d+\.\d+$|^[^\.]+\.?$", "mail.example.com", false)]
    [InlineData(@"[\x{0400}-\x{04FF}]{3,}", "Привет мир", true)]
    [InlineData(@"(?i)\b(?:cialis|levitra)\b", "buy Cialis!", true)]
    [InlineData(@"(?i)\b(?:cialis|levitra)\b", "specialist", false)]
    [InlineData(@"\$\d+(?:\.\d\d)?", "only $19.99", true)]
    [InlineData(@"(?i)^(?:dsl|dial|ppp|dyn)[\-\.]?\d", "DSL-1.isp.example", true)]
    [InlineData(@"(?:\d{1,3}[\.\-]){3}\d{1,3}", "host-10-1-2-3.isp.example", true)]
    [InlineData(@"^\s*$", " \t ", true)]
    [InlineData(@"(?i)^(?:.*\.)?example\.(?:com|net)$", "MX1.Example.NET", true)]
    [InlineData(@"(?i)=\?(?:utf-8|koi8-r)\?[bq]\?", "Subject: =?KOI8-R?B?abc", true)]
    [InlineData(@"^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$", "192.168.1.256", false)]
    [InlineData(@"(?i)(?:v[i1!]agr[a@]|c[i1]al[i1]s)", "V1AGR@", true)]
    [InlineData(@"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$", "a-b.example.org", true)]
    [InlineData(@"^(?!.*\.\.)[\w.+-]+$", "a..b", false)]
    [InlineData(@"(\w)\1{3,}", "heyyyy", true)]
    [InlineData(@"^(?:a|ab)c$", "abc", true)]
    public void Translated_pattern_matches_what_Perl_matches(string perl, string input, bool perlMatches)
    {
        Assert.True(perlMatches == Compile(perl).IsMatch(input), $"expected {(perlMatches ? "a match" : "no match")}: {Show(perl)}");
    }

    [Theory]
    // inline modifiers
    [InlineData(@"viagra", "ViAgRa", true)]
    [InlineData(@"(?-i)viagra", "VIAGRA", false)]
    [InlineData(@"(?^)A", "a", false)]
    // bracketed classes
    [InlineData(@"^[a-z]+$", "ABC", true)]
    [InlineData(@"^[^a-z]+$", "ABC", false)]
    // ASSP-style patterns
    [InlineData(@"^[^\s@]+@[^\s@]+\.[a-z]{2,}$", "John.Doe@Example.COM", true)]
    public void With_ignoreCase_the_pattern_matches_what_Perl_i_matches(string perl, string input, bool perlMatches)
    {
        Assert.True(perlMatches == Compile(perl, ignoreCase: true).IsMatch(input), $"expected {(perlMatches ? "a match" : "no match")}: {Show(perl)}");
    }

    // Valid Perl that .NET cannot express: refused, and the message names the construct.
    [Theory]
    [InlineData(@"(?R)", @"(?R)")]
    [InlineData(@"(?0)", @"(?0)")]
    [InlineData(@"a(?1)(b)", @"(?1)")]
    [InlineData(@"(a)(?+1)(b)", @"(?+1)")]
    [InlineData(@"(a)(?-1)", @"(?-1)")]
    [InlineData(@"(?<n>a)(?&n)", @"(?&n)")]
    [InlineData(@"(?P<n>a)(?P>n)", @"(?P>n)")]
    [InlineData(@"(?(R)a|b)", @"(?(R)")]
    [InlineData(@"(a)(?(R1)a|b)", @"(?(R1)")]
    [InlineData(@"(?(DEFINE)(?<a>x))", @"(?(DEFINE)")]
    [InlineData(@"(?{ print 1 })", @"(?{")]
    [InlineData(@"(??{ ""a"" })", @"(??{")]
    [InlineData(@"a(*PRUNE)b", @"(*PRUNE)")]
    [InlineData(@"a(*SKIP)b", @"(*SKIP)")]
    [InlineData(@"a(*FAIL)", @"(*FAIL)")]
    [InlineData(@"a(*F)", @"(*F)")]
    [InlineData(@"a(*ACCEPT)b", @"(*ACCEPT)")]
    [InlineData(@"a(*COMMIT)b", @"(*COMMIT)")]
    [InlineData(@"(?:a(*THEN)b|c)", @"(*THEN)")]
    [InlineData(@"a(*MARK:x)b", @"(*MARK:x)")]
    [InlineData(@"a(*:x)b", @"(*:x)")]
    [InlineData(@"a\Kb", @"\K")]
    [InlineData(@"\X", @"\X")]
    [InlineData(@"\p{Latin}", @"\p{Latin}")]
    [InlineData(@"\p{IsCyrillic}", @"\p{IsCyrillic}")]
    [InlineData(@"\p{Greek}", @"\p{Greek}")]
    [InlineData(@"\p{Script=Greek}", @"\p{Script=Greek}")]
    [InlineData(@"\p{Han}", @"\p{Han}")]
    [InlineData(@"(?|(a)|(b))", @"(?|")]
    [InlineData(@"\N{LATIN SMALL LETTER A}", @"\N{LATIN SMALL LETTER A}")]
    [InlineData(@"\b{wb}", @"\b{wb}")]
    [InlineData(@"\B{gcb}", @"\B{gcb}")]
    [InlineData(@"\Uabc\E", @"\U")]
    [InlineData(@"\LABC", @"\L")]
    [InlineData(@"\uabc", @"\u")]
    [InlineData(@"(*sr:a)", @"(*sr:")]
    [InlineData(@"(?[ \w - \d ])", @"(?[")]
    [InlineData(@"[\x{1F600}\N{U+1F601.1F602}]", @"\N{")]
    public void Unsupported_constructs_are_refused_by_name(string perl, string construct)
    {
        var ex = Assert.Throws<PerlRegexException>(() => PerlRegexTranslator.Translate(perl));
        Assert.Contains(construct, ex.Message, StringComparison.Ordinal);
        Assert.Contains("at index " + ex.Position, ex.Message, StringComparison.Ordinal);
        Assert.InRange(ex.Position, 0, perl.Length);
    }

    // Patterns Perl itself rejects.
    [Theory]
    [InlineData(@"(a", @"'('")]
    [InlineData(@"a)", @"')'")]
    [InlineData(@"[a", @"'['")]
    [InlineData(@"*a", @"'*'")]
    [InlineData(@"a|+b", @"'+'")]
    [InlineData(@"a**", @"nested")]
    [InlineData(@"a{2}{3}", @"nested")]
    [InlineData(@"a+?+", @"nested")]
    [InlineData(@"a\", @"trailing")]
    [InlineData(@"[z-a]", @"z-a")]
    [InlineData(@"\1", @"group 1")]
    [InlineData(@"(a)\2", @"group 2")]
    [InlineData(@"\k<nope>", @"nope")]
    [InlineData(@"(?<1a>x)", @"1a")]
    [InlineData(@"[[:foo:]]", @"[:foo:]")]
    [InlineData(@"[[=a=]]", @"[= =]")]
    [InlineData(@"(?e)", @"'e'")]
    [InlineData(@"\g{-1}", @"\g{-1}")]
    [InlineData(@"(?#abc", @"(?#")]
    [InlineData(@"\o", @"\o")]
    [InlineData(@"\c", @"\c")]
    [InlineData(@"(a)(?(1)a|b|c)", @"branches")]
    [InlineData(@"(?-a)", @"'a'")]
    [InlineData(@"(a)\g0", @"\g0")]
    [InlineData(@"\p{Foo}", @"\p{Foo}")]
    [InlineData(@"(?<a-b>x)", @"a-b")]
    [InlineData(@"[]", @"'['")]
    [InlineData(@"a(?i)*", @"'*'")]
    [InlineData(@"(?(?)a)", @"Conditional")]
    [InlineData(@"\p", @"\p")]
    public void Malformed_patterns_are_refused(string perl, string says)
    {
        var ex = Assert.Throws<PerlRegexException>(() => PerlRegexTranslator.Translate(perl));
        Assert.Contains(says, ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.InRange(ex.Position, 0, perl.Length);
    }

    // What the translation looks like for the constructs that need rewriting.
    [Theory]
    [InlineData(@"a*+b", @"(?>a*)b")]
    [InlineData(@"(a|b)++c", @"(?>(a|b)+)c")]
    [InlineData(@"a?+", @"(?>a?)")]
    [InlineData(@"a{2,3}+", @"(?>a{2,3})")]
    [InlineData(@"(?>a*)", @"(?>a*)")]
    [InlineData(@"(?P<n>x)(?P=n)", @"(?<n>x)\k<n>")]
    [InlineData(@"(?'n'x)\k{n}\g{n}", @"(?<n>x)\k<n>\k<n>")]
    [InlineData(@"(?<a>x)(y)\2\1", @"(?<a>x)(y)\k<1>\k<a>")]
    [InlineData(@"(a)(b)\g{-1}\g-2", @"(a)(b)\k<2>\k<1>")]
    [InlineData(@"\pL\p{Lu}\PL\p{^Lu}", @"\p{L}\p{Lu}\P{L}\P{Lu}")]
    [InlineData(@"\p{InCyrillic}\p{Block: Greek and Coptic}", @"\p{IsCyrillic}\p{IsGreekandCoptic}")]
    [InlineData(@"\x{263A}\x41\x{41}\o{101}\101", @"\u263A\x41\x41\u0041\u0041")]
    [InlineData(@"\x{1F600}+", @"(?:\uD83D\uDE00)+")]
    [InlineData(@"\e\cA\t", @"\e\cA\t")]
    [InlineData(@"\Qa.b*c\E+", @"a\.b\*c+")]
    [InlineData(@"\Q(a)", @"\(a\)")]
    [InlineData(@"a\/b\@c\y\_", @"a/b@cy_")]
    [InlineData(@"\N\h\H", @"[^\n][\t\x20\xA0\u1680\u2000-\u200A\u202F\u205F\u3000][^\t\x20\xA0\u1680\u2000-\u200A\u202F\u205F\u3000]")]
    [InlineData(@"\v\V", @"[\n\x0B\f\r\x85\u2028\u2029][^\n\x0B\f\r\x85\u2028\u2029]")]
    [InlineData(@"\R", @"(?>\r\n|[\n\x0B\f\r\x85\u2028\u2029])")]
    [InlineData(@"[[:digit:][:alpha:]_]", @"[\d\p{L}\p{Nl}_]")]
    [InlineData(@"[[:^digit:]]", @"[\D]")]
    [InlineData(@"[[:^alpha:]]", @"[^\p{L}\p{Nl}]")]
    [InlineData(@"[a[b]", @"[a\[b]")]
    [InlineData(@"[]a]", @"[\]a]")]
    [InlineData(@"[a-\d]", @"[a\-\d]")]
    [InlineData(@"[\x{1F600}-\x{1F64F}]", @"(?:\uD83D[\uDE00-\uDE4F])")]
    [InlineData(@"x{foo}a{", @"x\{foo\}a\{")]
    [InlineData(@"a{,3}b{ 1 , 2 }", @"a{0,3}b{1,2}")]
    [InlineData(@"a(?#comment)b", @"ab")]
    [InlineData("(?x) a b # comment\n c", @"abc")]
    [InlineData(@"(?^i:a)", @"(?i-msn:a)")]
    [InlineData(@"a(?^)b", @"a(?-imsn)b")]
    [InlineData(@"a(?aipu)b(?-x)c", @"a(?i)bc")]
    [InlineData(@"(?m)^a", @"(?:\A|(?<=\n)(?!\z))a")]
    [InlineData(@"\Boo", @"(?!\b)oo")]
    [InlineData(@"(*pla:a)(*nlb:b)", @"(?=a)(?<!b)")]
    [InlineData(@"(a)?(?(1)b|c)", @"(a)?(?(1)b|c)")]
    [InlineData(@"(?<q>a)?(?(<q>)b|c)", @"(?<q>a)?(?(q)b|c)")]
    public void Rewritten_constructs_have_the_expected_NET_form(string perl, string dotnet)
    {
        Assert.Equal(dotnet, PerlRegexTranslator.Translate(perl).Pattern);
    }

    [Fact]
    public void A_leading_modifier_group_becomes_the_options_of_the_whole_match()
    {
        var t = PerlRegexTranslator.Translate("(?i)viagra");
        Assert.Equal("viagra", t.Pattern);
        Assert.Equal(RegexOptions.IgnoreCase, t.Options);
        Assert.Matches(new Regex(t.Pattern, t.Options | RegexOptions.CultureInvariant), "CHEAP ViAgRa");

        Assert.Equal(RegexOptions.IgnoreCase | RegexOptions.Singleline | RegexOptions.Multiline | RegexOptions.ExplicitCapture,
            PerlRegexTranslator.Translate("(?x) (?is) (?mn) a").Options);
        Assert.Equal(RegexOptions.None, PerlRegexTranslator.Translate("a(?i)b").Options);
    }

    [Fact]
    public void The_ignoreCase_argument_is_Perls_i_flag()
    {
        Assert.Equal(RegexOptions.IgnoreCase, PerlRegexTranslator.Translate("abc", ignoreCase: true).Options);
        Assert.Equal(RegexOptions.None, PerlRegexTranslator.Translate("abc").Options);

        // A leading (?-i) turns it off again, inline, so it wins over any option.
        var t = PerlRegexTranslator.Translate("(?-i)abc", ignoreCase: true);
        Assert.Equal("(?-i)abc", t.Pattern);
        Assert.DoesNotMatch(new Regex(t.Pattern, t.Options | RegexOptions.CultureInvariant), "ABC");
    }

    [Fact]
    public void Modifiers_turned_off_in_the_pattern_hold_against_options_the_caller_adds()
    {
        // ConfigRegex adds Singleline (ASSP's /s) to every configured regex.
        Assert.DoesNotMatch(Compile("(?-s)a.b", extra: RegexOptions.Singleline), "a\nb");
        Assert.DoesNotMatch(Compile("(?^:a.b)", extra: RegexOptions.Singleline), "a\nb");
        Assert.Matches(Compile("a.b", extra: RegexOptions.Singleline), "a\nb");
        Assert.DoesNotMatch(Compile("(?-i:a)", extra: RegexOptions.IgnoreCase), "A");
    }

    [Fact]
    public void Named_and_numbered_groups_keep_their_contents()
    {
        // Perl numbers named and unnamed groups together, left to right; .NET numbers the unnamed
        // ones first. The translation refers to groups so that Perl's numbers still hold.
        var m = Compile(@"^(?<user>[^@]+)@(\w+)\.(?<tld>\w+) \2$").Match("joe@example.com example");
        Assert.True(m.Success);
        Assert.Equal("joe", m.Groups["user"].Value);
        Assert.Equal("com", m.Groups["tld"].Value);
        Assert.Equal("example", m.Groups[1].Value); // Perl's $2, the only unnamed group
    }

    [Fact]
    public void The_exception_is_a_FormatException_with_the_position()
    {
        var ex = Assert.Throws<PerlRegexException>(() => PerlRegexTranslator.Translate(@"ab(?{ 1 })"));
        Assert.IsAssignableFrom<FormatException>(ex);
        Assert.Equal(2, ex.Position);
        Assert.Equal("Code block (?{...}) at index 2: embedded Perl code cannot run in .NET", ex.Message);
        Assert.Throws<ArgumentNullException>(() => PerlRegexTranslator.Translate(null!));
    }

    [Fact]
    public void Quantified_atomic_groups_keep_their_backtracking()
    {
        // .NET 10 runs (?>\d+)?1 as if it were (?>\d*)1 and misses "1"; Perl matches.
        Assert.Matches(Compile(@"^(?>\d+)?1$"), "1");
        Assert.Matches(Compile(@"^(?:\d++)?1$"), "1");
        Assert.Matches(Compile(@"(?:[^ab]++)*c"), "xc");
        Assert.DoesNotMatch(Compile(@"^(?:\d++)?1$"), "21");
        // and a loop before \B: .NET alone fails \W+\B\W on "..".
        Assert.Matches(Compile(@"\W+\B\W"), "..");
        Assert.Matches(Compile(@"\D+\Bc"), "ac");
    }

    // Real patterns in the style of ASSP configurations.
    private static readonly string[] AsspPatterns =
    [
        @"^(?:\w[\w\.\-]*\.\w{2,6})$",
        @"(?i)viagra",
        @"^\d+\.\d+\.\d+\.\d+$|^[^\.]+\.?$",
        @"[\x{0400}-\x{04FF}]{3,}",
        @"(?i)\b(?:v[i1!|]agra|c[i1]al[i1]s|levitra)\b",
        @"^(?:\d{1,3}\.){3}\d{1,3}$",
        @"(?i)(?:^|\.)(?:dsl|dial|dyn|ppp|cable|pool|client)[\-\.]?\d",
        @"(?i)=\?(?:koi8-r|windows-1251|gb2312|big5)\?[bq]\?",
        @"(?i)^(?:postmaster|abuse|hostmaster)\@",
        @"\$\d+(?:\.\d\d)?\s*(?:USD|EUR)?",
        @"(?i)<a\s+href\s*=\s*[""']?https?:\/\/[^\s""'>]+",
        @"(?s)<!--.*?-->",
        @"(?i)\bunsubscribe\b.{0,40}\bhttps?://",
        @"[\x{4E00}-\x{9FFF}\x{3040}-\x{30FF}]{5,}",
        @"(?i)^Subject:\s*(?:re:\s*)*\[?SPAM\]?",
        @"^[\w.+-]+\@(?:[\w-]+\.)+[a-zA-Z]{2,}$",
        @"(?x) ^ \d{3} \s+ (?: ok | err ) $  # status line",
        @"(?i)(\w)\1{4,}",
        @"[[:upper:]]{10,}",
        @"\p{IsCyrillic}?", // refused: Perl reads it as the Cyrillic script
    ];

    // Every pattern of the two Perl tables above, plus the ASSP-style ones.
    private static List<string> PatternsThatMustCompile()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var theories = new[] { nameof(Translated_pattern_matches_what_Perl_matches), nameof(With_ignoreCase_the_pattern_matches_what_Perl_i_matches) };
        foreach (var method in theories.Select(n => typeof(PerlRegexTranslatorTests).GetMethod(n)!))
        {
            foreach (var row in method.GetCustomAttributes<InlineDataAttribute>().SelectMany(a => a.GetData(method)))
            {
                seen.Add((string)row[0]);
            }
        }

        foreach (var p in AsspPatterns)
        {
            seen.Add(p);
        }

        return seen.Order(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public void Every_translated_pattern_compiles_in_NET()
    {
        var patterns = PatternsThatMustCompile();
        var failures = new List<string>();
        var translated = 0;
        foreach (var p in patterns)
        {
            PerlRegexTranslation t;
            try
            {
                t = PerlRegexTranslator.Translate(p);
            }
            catch (PerlRegexException)
            {
                continue; // refusing is allowed; producing a broken .NET pattern is not
            }

            translated++;
            try
            {
                _ = new Regex(t.Pattern, t.Options | RegexOptions.CultureInvariant, MatchTimeout);
            }
            catch (ArgumentException ex)
            {
                failures.Add($"{p} => {t.Pattern}: {ex.Message}");
            }
        }

        Assert.True(translated > 250, $"only {translated} of {patterns.Count} patterns translated");
        Assert.Empty(failures);
    }

    [Fact]
    public void Random_pattern_soup_is_translated_or_refused_never_broken()
    {
        // Fragments of Perl syntax glued at random (fixed seed): the translator must either
        // refuse with PerlRegexException or produce a pattern .NET accepts.
        string[] pieces =
        [
            "a", "b", "(", ")", "(?:", "(?i)", "(?^x:", "(?<n>", "\\k<n>", "\\1", "\\g{-1}", "[", "]", "[^", "-", "^", "$",
            "*", "+", "?", "{2}", "{1,3}", "{,2}", "{", "}", "*+", "+?", "|", ".", "\\", "\\d", "\\w", "\\h", "\\V", "\\R",
            "\\N", "\\x{263A}", "\\x41", "\\x{1F600}", "[:alpha:]", "[[:^digit:]", "\\p{Lu}", "\\pL", "\\Q", "\\E", "#", " ",
            "\n", "(?#c)", "(?=", "(?<!", "(?>", "(?(1)", "\\b", "\\B", "\\z", "\\G", "é", "\\/", "\\@", "(*pla:", "(?n)",
        ];
        var random = new Random(20240521);
        for (var n = 0; n < 3000; n++)
        {
            var count = random.Next(1, 12);
            var pattern = string.Concat(Enumerable.Range(0, count).Select(_ => pieces[random.Next(pieces.Length)]));
            PerlRegexTranslation t;
            try
            {
                t = PerlRegexTranslator.Translate(pattern, ignoreCase: random.Next(2) == 0);
            }
            catch (PerlRegexException ex)
            {
                Assert.InRange(ex.Position, 0, pattern.Length);
                continue;
            }

            try
            {
                _ = new Regex(t.Pattern, t.Options | RegexOptions.CultureInvariant, MatchTimeout);
            }
            catch (ArgumentException ex)
            {
                throw new XunitException($"pattern {pattern} became {t.Pattern}, which .NET rejects: {ex.Message}");
            }
        }
    }

    [Fact]
    public void Translation_time_grows_linearly()
    {
        var piece = @"(?:a|\d)++[[:alpha:]\x{263A}]{2,}(?<n>\w)\k<n>\Q.*\E";
        var big = string.Concat(Enumerable.Repeat(piece, 20_000)); // about a megabyte of pattern
        var clock = Stopwatch.StartNew();
        var t = PerlRegexTranslator.Translate(big);
        clock.Stop();
        Assert.StartsWith(@"(?>(?:a|\d)+)[\p{L}\p{Nl}\u263A]{2,}(?<n>\w)\k<n>\.\*", t.Pattern, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }
}
