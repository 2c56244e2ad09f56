using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Assp.Config.Regexes;

/// <summary>
/// A Perl regex rewritten for .NET. Run it as
/// <c>new Regex(Pattern, Options | RegexOptions.CultureInvariant, timeout)</c>.
/// </summary>
public sealed record PerlRegexTranslation(string Pattern, RegexOptions Options);

/// <summary>
/// A Perl regex that is malformed, or that uses a construct .NET cannot express.
/// The message names the construct, its index in the Perl pattern and the reason.
/// </summary>
public sealed class PerlRegexException : FormatException
{
    public PerlRegexException(string message) : base(message) { }

    /// <summary>Index in the Perl pattern where the offending construct starts.</summary>
    public int Position { get; init; }
}

/// <summary>
/// Translates Perl 5 regular expressions (as ASSP admins write them in assp.cfg and list files)
/// into .NET regular expressions with the same matching behaviour, or refuses them with a
/// <see cref="PerlRegexException"/>.
/// </summary>
/// <remarks>
/// One left-to-right pass over the pattern: a small state machine with the states
/// "outside a class", "inside a bracketed class" and "inside \Q...\E". \Q...\E is read as in a
/// Perl regex literal (qr/\Qa.b\E/), where Perl's interpolation quotes the text.
/// Known differences that are not translated: .NET matches UTF-16 code units, so '.', \w and a
/// simple negated class match one half of a character above U+FFFF where Perl matches the whole
/// code point; /i uses .NET's simple case folding (Perl also folds "ß" to "ss"); .NET's \w and \b
/// leave out the spacing and enclosing marks (Mc, Me) that Perl's \w includes; the two Unicode
/// versions differ for recently added characters.
/// </remarks>
public static class PerlRegexTranslator
{
    /// <summary>Translates a Perl regex body (no delimiters, no trailing flags).</summary>
    /// <param name="pattern">The Perl pattern.</param>
    /// <param name="ignoreCase">True for Perl's /i (adds <see cref="RegexOptions.IgnoreCase"/>).</param>
    public static PerlRegexTranslation Translate(string pattern, bool ignoreCase = false)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return new Translator(pattern, ignoreCase).Run();
    }

    // Perl's \h (horizontal white space) and \v (vertical white space) as .NET class content.
    // .NET's own \v is only VT, so both are always spelled out.
    private const string HorizontalSpace = @"\t\x20\xA0\u1680\u2000-\u200A\u202F\u205F\u3000";
    private const string VerticalSpace = @"\n\x0B\f\r\x85\u2028\u2029";

    // One whole code point: a surrogate pair, else any single UTF-16 unit.
    private const string AnyCodePoint = @"(?:[\uD800-\uDBFF][\uDC00-\uDFFF]|[\s\S])";

    // A lookahead that always succeeds (there is a next character, or this is the end).
    private const string AlwaysTrue = @"(?=[\s\S]|\z)";

    // Perl's /m '^' matches after every "\n" except one that ends the string; .NET's matches there too.
    private const string MultilineCaret = @"(?:\A|(?<=\n)(?!\z))";

    /// <summary>
    /// A set of characters as .NET class content. <see cref="Negated"/> is class content for the
    /// complement when .NET has one (\D, \P{Lu}); <see cref="Standalone"/> means the content can be
    /// written outside brackets as it is (\d, \p{Lu}).
    /// </summary>
    private sealed record CharSet(string Content, string? Negated, bool Standalone)
    {
        public string Render(bool negate) => negate
            ? (Negated is not null && Standalone ? Negated : "[^" + Content + "]")
            : (Standalone ? Content : "[" + Content + "]");
    }

    private static CharSet Esc(string positive, string negative) => new(positive, negative, true);

    private static CharSet Cat(string category) => new(@"\p{" + category + "}", @"\P{" + category + "}", true);

    private static CharSet Many(string content) => new(content, null, false);

    // Perl's Unicode POSIX classes in terms of what .NET knows (general categories). Checked over
    // the BMP against Perl 5.36 (with unicode_strings): exact except for characters newer than
    // Perl's Unicode tables, and alpha/alnum lack Unicode's Other_Alphabetic combining vowel signs
    // (Indic, Hebrew and Arabic points), which have no category of their own.
    private static readonly CharSet Alpha = Many(@"\p{L}\p{Nl}");
    private static readonly CharSet Alnum = Many(@"\p{L}\p{Nl}\p{Nd}");
    private static readonly CharSet Upper = Many(@"\p{Lu}\u2160-\u216F\u24B6-\u24CF");
    private static readonly CharSet Lower = Many(
        @"\p{Ll}\xAA\xBA\u02B0-\u02B8\u02C0\u02C1\u02E0-\u02E4\u0345\u037A\u1D2C-\u1D6A\u1D78\u1D9B-\u1DBF\u2071\u207F"
        + @"\u2090-\u209C\u2170-\u217F\u24D0-\u24E9\u2C7C\u2C7D\uA69C\uA69D\uA770\uA7F8\uA7F9\uAB5C-\uAB5F");
    private static readonly CharSet PosixPunct = Many(@"\p{P}$+<=>\^`|~");
    private static readonly CharSet XDigit = Many(@"0-9A-Fa-f\uFF10-\uFF19\uFF21-\uFF26\uFF41-\uFF46");
    private static readonly CharSet Graph = Many(@"\p{L}\p{M}\p{N}\p{P}\p{S}\p{Cf}\p{Co}");
    private static readonly CharSet Print = Many(@"\p{L}\p{M}\p{N}\p{P}\p{S}\p{Cf}\p{Co}\p{Zs}");
    private static readonly CharSet Blank = Many(HorizontalSpace);
    private static readonly CharSet Vertical = Many(VerticalSpace);
    private static readonly CharSet Digit = Esc(@"\d", @"\D");
    private static readonly CharSet Word = Esc(@"\w", @"\W");
    private static readonly CharSet Space = Esc(@"\s", @"\S");

    // [[:name:]] inside a bracketed class.
    private static readonly Dictionary<string, CharSet> PosixClasses = new(StringComparer.Ordinal)
    {
        ["alpha"] = Alpha, ["alnum"] = Alnum, ["ascii"] = Many(@"\x00-\x7F"), ["blank"] = Blank,
        ["cntrl"] = Cat("Cc"), ["digit"] = Digit, ["graph"] = Graph, ["lower"] = Lower,
        ["print"] = Print, ["punct"] = PosixPunct, ["space"] = Space, ["upper"] = Upper,
        ["word"] = Word, ["xdigit"] = XDigit,
    };

    // \p{...} names, keyed by Perl's loose form (lower case, no blanks, '_' or '-').
    private static readonly Dictionary<string, CharSet> GeneralCategories = BuildGeneralCategories();
    private static readonly Dictionary<string, CharSet> PerlProperties = BuildPerlProperties();

    // .NET's named blocks (\p{IsBasicLatin}), keyed by Perl's loose form of the block name.
    // Each was checked against Perl's \p{In...}: same code points.
    private static readonly Dictionary<string, string> Blocks = BuildBlocks();

    // Script names. Perl reads \p{Greek} and \p{IsGreek} as the *script*, which .NET lacks;
    // the block of the same name differs, so these are refused rather than mapped to the block.
    private static readonly HashSet<string> Scripts = new(StringComparer.Ordinal)
    {
        "arabic", "armenian", "bengali", "bopomofo", "braille", "buhid", "canadianaboriginal", "cherokee",
        "common", "coptic", "cyrillic", "devanagari", "ethiopic", "georgian", "greek", "gujarati",
        "gurmukhi", "han", "hangul", "hanunoo", "hebrew", "hiragana", "inherited", "kannada", "katakana",
        "khmer", "lao", "latin", "limbu", "malayalam", "mongolian", "myanmar", "ogham", "oriya", "runic",
        "sinhala", "syriac", "tagalog", "tagbanwa", "taile", "tamil", "telugu", "thaana", "thai",
        "tibetan", "yi",
    };

    private static Dictionary<string, CharSet> BuildGeneralCategories()
    {
        var d = new Dictionary<string, CharSet>(StringComparer.Ordinal);
        void Add(string category, params string[] longNames)
        {
            d[category.ToLowerInvariant()] = Cat(category);
            foreach (var n in longNames)
            {
                d[n] = Cat(category);
            }
        }

        Add("L", "letter");
        Add("Lu", "uppercaseletter");
        Add("Ll", "lowercaseletter");
        Add("Lt", "titlecaseletter", "title", "titlecase");
        Add("Lm", "modifierletter");
        Add("Lo", "otherletter");
        Add("M", "mark", "combiningmark");
        Add("Mn", "nonspacingmark");
        Add("Mc", "spacingmark");
        Add("Me", "enclosingmark");
        Add("N", "number");
        Add("Nd", "decimalnumber");
        Add("Nl", "letternumber");
        Add("No", "othernumber");
        Add("P", "punctuation", "punct");
        Add("Pc", "connectorpunctuation");
        Add("Pd", "dashpunctuation");
        Add("Ps", "openpunctuation");
        Add("Pe", "closepunctuation");
        Add("Pi", "initialpunctuation");
        Add("Pf", "finalpunctuation");
        Add("Po", "otherpunctuation");
        Add("S", "symbol");
        Add("Sm", "mathsymbol");
        Add("Sc", "currencysymbol");
        Add("Sk", "modifiersymbol");
        Add("So", "othersymbol");
        Add("Z", "separator");
        Add("Zs", "spaceseparator");
        Add("Zl", "lineseparator");
        Add("Zp", "paragraphseparator");
        Add("C", "other");
        Add("Cc", "control", "cntrl");
        Add("Cf", "format");
        Add("Cs", "surrogate");
        Add("Co", "privateuse");
        Add("Cn", "unassigned");
        d["lc"] = d["casedletter"] = Many(@"\p{Lu}\p{Ll}\p{Lt}");
        return d;
    }

    private static Dictionary<string, CharSet> BuildPerlProperties()
    {
        var d = new Dictionary<string, CharSet>(StringComparer.Ordinal);
        void Add(CharSet set, params string[] names)
        {
            foreach (var n in names)
            {
                d[n] = set;
            }
        }

        Add(Alpha, "alpha", "alphabetic", "xposixalpha");
        Add(Alnum, "alnum", "xposixalnum");
        Add(Digit, "digit", "xposixdigit");
        Add(Word, "word", "xposixword");
        Add(Space, "space", "xposixspace", "spaceperl", "xperlspace", "whitespace", "wspace");
        Add(Upper, "upper", "uppercase", "xposixupper");
        Add(Lower, "lower", "lowercase", "xposixlower");
        Add(PosixPunct, "xposixpunct");
        Add(Cat("Cc"), "xposixcntrl");
        Add(Graph, "graph", "xposixgraph");
        Add(Print, "print", "xposixprint");
        Add(Blank, "blank", "xposixblank", "horizspace");
        Add(Vertical, "vertspace");
        Add(XDigit, "xdigit", "xposixxdigit", "hexdigit", "hex");
        Add(Many("0-9A-Fa-f"), "asciihexdigit", "ahex", "posixxdigit");
        Add(Many(@"\x00-\x7F"), "ascii");
        Add(Many(@"\s\S"), "any");
        Add(new CharSet(@"\P{Cn}", @"\p{Cn}", true), "assigned");
        Add(Many("A-Za-z"), "posixalpha");
        Add(Many("0-9A-Za-z"), "posixalnum");
        Add(Many("0-9"), "posixdigit");
        Add(Many("0-9A-Za-z_"), "posixword", "perlword");
        Add(Many(@"\t\n\x0B\f\r\x20"), "posixspace", "perlspace");
        Add(Many("A-Z"), "posixupper");
        Add(Many("a-z"), "posixlower");
        Add(Many(@"!-/:-@\[-`{-~"), "posixpunct");
        Add(Many(@"\x00-\x1F\x7F"), "posixcntrl");
        Add(Many("!-~"), "posixgraph");
        Add(Many(@"\x20-~"), "posixprint");
        Add(Many(@"\t\x20"), "posixblank");
        return d;
    }

    private static Dictionary<string, string> BuildBlocks()
    {
        string[] names =
        [
            "AlphabeticPresentationForms", "Arabic", "ArabicPresentationForms-A", "ArabicPresentationForms-B",
            "Armenian", "Arrows", "BasicLatin", "Bengali", "BlockElements", "Bopomofo", "BopomofoExtended",
            "BoxDrawing", "BraillePatterns", "Buhid", "CJKCompatibility", "CJKCompatibilityForms",
            "CJKCompatibilityIdeographs", "CJKRadicalsSupplement", "CJKSymbolsandPunctuation",
            "CJKUnifiedIdeographs", "CJKUnifiedIdeographsExtensionA", "Cherokee", "CombiningDiacriticalMarks",
            "CombiningDiacriticalMarksforSymbols", "CombiningHalfMarks", "CombiningMarksforSymbols",
            "ControlPictures", "CurrencySymbols", "Cyrillic", "CyrillicSupplement", "Devanagari", "Dingbats",
            "EnclosedAlphanumerics", "EnclosedCJKLettersandMonths", "Ethiopic", "GeneralPunctuation",
            "GeometricShapes", "Georgian", "Greek", "GreekExtended", "GreekandCoptic", "Gujarati", "Gurmukhi",
            "HalfwidthandFullwidthForms", "HangulCompatibilityJamo", "HangulJamo", "HangulSyllables", "Hanunoo",
            "Hebrew", "HighPrivateUseSurrogates", "HighSurrogates", "Hiragana", "IPAExtensions",
            "IdeographicDescriptionCharacters", "Kanbun", "KangxiRadicals", "Kannada", "Katakana",
            "KatakanaPhoneticExtensions", "Khmer", "KhmerSymbols", "Lao", "Latin-1Supplement", "LatinExtended-A",
            "LatinExtended-B", "LatinExtendedAdditional", "LetterlikeSymbols", "Limbu", "LowSurrogates",
            "Malayalam", "MathematicalOperators", "MiscellaneousMathematicalSymbols-A",
            "MiscellaneousMathematicalSymbols-B", "MiscellaneousSymbols", "MiscellaneousSymbolsandArrows",
            "MiscellaneousTechnical", "Mongolian", "Myanmar", "NumberForms", "Ogham",
            "OpticalCharacterRecognition", "Oriya", "PhoneticExtensions", "PrivateUse", "PrivateUseArea", "Runic",
            "Sinhala", "SmallFormVariants", "SpacingModifierLetters", "Specials", "SuperscriptsandSubscripts",
            "SupplementalArrows-A", "SupplementalArrows-B", "SupplementalMathematicalOperators", "Syriac",
            "Tagalog", "Tagbanwa", "TaiLe", "Tamil", "Telugu", "Thaana", "Thai", "Tibetan",
            "UnifiedCanadianAboriginalSyllabics", "VariationSelectors", "YiRadicals", "YiSyllables",
            "YijingHexagramSymbols",
        ];
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var n in names)
        {
            d[Loose(n)] = "Is" + n;
        }

        return d;
    }

    /// <summary>Perl's loose matching of property names: case, blanks, '_' and '-' do not count.</summary>
    private static string Loose(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            if (c is not (' ' or '\t' or '_' or '-'))
            {
                sb.Append(char.ToLowerInvariant(c));
            }
        }

        return sb.ToString();
    }

    private static string U(int unit) => @"\u" + unit.ToString("X4", CultureInfo.InvariantCulture);

    /// <summary>A code point as a .NET escape: \xHH when asked and possible, else \uXXXX (pair above FFFF).</summary>
    private static string NumericEscape(int cp, bool preferX)
    {
        if (cp <= 0xFF && preferX)
        {
            return @"\x" + cp.ToString("X2", CultureInfo.InvariantCulture);
        }

        if (cp <= 0xFFFF)
        {
            return U(cp);
        }

        var s = char.ConvertFromUtf32(cp);
        return U(s[0]) + U(s[1]);
    }

    /// <summary>Perl's /x white space (Unicode Pattern_White_Space).</summary>
    private static bool IsPatternWhiteSpace(char c) =>
        c is ' ' or '\t' or '\n' or '\x0B' or '\f' or '\r' or '\x85' or '\u200E' or '\u200F' or '\u2028' or '\u2029';

    private static bool IsNameStart(char c) => c == '_' || char.IsLetter(c);

    private static bool IsNameChar(char c) => c == '_' || char.IsLetterOrDigit(c);

    private static bool IsValidName(string name)
    {
        if (name.Length == 0 || !IsNameStart(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!IsNameChar(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The members of one bracketed class, split by how .NET can express them.</summary>
    private sealed class ClassBuilder
    {
        // Plain .NET class content (code points up to FFFF, ranges, \d, \p{..}).
        private readonly StringBuilder _items = new();

        // Complements .NET cannot put in one class (e.g. [:^alpha:] = not (L or Nl)).
        private readonly List<string> _complements = [];

        // Code points above FFFF: .NET classes hold UTF-16 units, so these become surrogate sequences.
        private readonly List<(int Lo, int Hi)> _astral = [];

        public void AddRange(int lo, int hi)
        {
            if (lo <= 0xFFFF)
            {
                var bmpHi = Math.Min(hi, 0xFFFF);
                AppendChar(lo);
                if (bmpHi > lo)
                {
                    _items.Append('-');
                    AppendChar(bmpHi);
                }
            }

            if (hi > 0xFFFF)
            {
                _astral.Add((Math.Max(lo, 0x10000), hi));
            }
        }

        public void AddSet(CharSet set, bool negate)
        {
            if (!negate)
            {
                _items.Append(set.Content);
            }
            else if (set.Negated is not null)
            {
                _items.Append(set.Negated);
            }
            else
            {
                _complements.Add(set.Content);
            }
        }

        // A literal inside .NET brackets: escape what would end the class, make a range,
        // negate it, or start a class subtraction ("[a-[b]]").
        private void AppendChar(int c)
        {
            if (c is '\\' or ']' or '[' or '^' or '-')
            {
                _items.Append('\\').Append((char)c);
            }
            else if (c < 0x20 || c >= 0x7F)
            {
                _items.Append(U(c)); // unambiguous, and readable for ranges like [\u0400-\u04FF]
            }
            else
            {
                _items.Append((char)c);
            }
        }

        public string Build(bool negated)
        {
            if (_complements.Count == 0 && _astral.Count == 0)
            {
                if (_items.Length == 0)
                {
                    return negated ? AnyCodePoint : "(?!)";
                }

                return (negated ? "[^" : "[") + _items + "]";
            }

            if (_items.Length == 0 && _astral.Count == 0 && _complements.Count == 1)
            {
                return (negated ? "[" : "[^") + _complements[0] + "]";
            }

            // Otherwise the class becomes an alternation; surrogate pairs go first so that a
            // code point above FFFF is taken whole.
            var parts = new List<string>();
            foreach (var (lo, hi) in _astral)
            {
                AddSurrogateAlternatives(parts, lo, hi);
            }

            if (_items.Length > 0)
            {
                parts.Add("[" + _items + "]");
            }

            foreach (var c in _complements)
            {
                parts.Add("[^" + c + "]");
            }

            var union = "(?:" + string.Join("|", parts) + ")";
            return negated ? "(?:(?!" + union + ")" + AnyCodePoint + ")" : union;
        }

        // Code points lo..hi (all above FFFF) as UTF-16 sequences, split by high surrogate.
        private static void AddSurrogateAlternatives(List<string> parts, int lo, int hi)
        {
            int hs1 = 0xD800 + ((lo - 0x10000) >> 10), ls1 = 0xDC00 + ((lo - 0x10000) & 0x3FF);
            int hs2 = 0xD800 + ((hi - 0x10000) >> 10), ls2 = 0xDC00 + ((hi - 0x10000) & 0x3FF);
            if (hs1 == hs2)
            {
                parts.Add(U(hs1) + Range(ls1, ls2));
                return;
            }

            parts.Add(U(hs1) + Range(ls1, 0xDFFF));
            if (hs2 - hs1 > 1)
            {
                parts.Add(Range(hs1 + 1, hs2 - 1) + Range(0xDC00, 0xDFFF));
            }

            parts.Add(U(hs2) + Range(0xDC00, ls2));
        }

        private static string Range(int a, int b) => a == b ? U(a) : "[" + U(a) + "-" + U(b) + "]";
    }

    private readonly record struct Flags(bool I, bool M, bool S, bool X, bool XX, bool N);

    private enum GroupKind { Plain, Conditional }

    private sealed class Group(Flags saved, int sourcePos, int outStart, GroupKind kind)
    {
        public Flags Saved { get; } = saved;
        public int SourcePos { get; } = sourcePos;
        public int OutStart { get; } = outStart;
        public GroupKind Kind { get; } = kind;
        public int Bars { get; set; }
    }

    // A capture group in Perl's numbering; .NET numbers unnamed groups first, so keep both.
    private readonly record struct Capture(string? Name, int DotNetNumber);

    // A numbered reference to a group not opened yet; filled in when the pattern is done.
    private sealed class Fixup(int outPos, int number, int sourcePos, bool condition)
    {
        public int OutPos { get; set; } = outPos;
        public int Number { get; } = number;
        public int SourcePos { get; } = sourcePos;
        public bool Condition { get; } = condition;
    }

    private enum ItemKind { None, CodePoint, Set }

    // One member of a bracketed class: a code point, a set (\d, [:alpha:], \p{L}), or nothing
    // (\Q and \E only switch quoting).
    private readonly struct ClassItem
    {
        public static readonly ClassItem None = default;

        public ClassItem(int codePoint) { Kind = ItemKind.CodePoint; CodePoint = codePoint; Set = null; Negate = false; }

        public ClassItem(CharSet set, bool negate) { Kind = ItemKind.Set; CodePoint = 0; Set = set; Negate = negate; }

        public ItemKind Kind { get; }
        public int CodePoint { get; }
        public CharSet? Set { get; }
        public bool Negate { get; }
    }

    private sealed class Translator(string pattern, bool ignoreCase)
    {
        private readonly string _p = pattern;                  // the Perl pattern
        private readonly StringBuilder _out = new();           // the .NET pattern so far
        private readonly Stack<Group> _groups = new();         // open groups
        private readonly List<Capture> _captures = [];         // capture groups in Perl's order
        private readonly HashSet<string> _names = new(StringComparer.Ordinal);
        private readonly List<(string Name, int Pos)> _nameRefs = []; // checked once all names are known
        private readonly List<Fixup> _fixups = [];             // references to groups opened later
        private int _i;                                        // position in _p
        private int _unnamedCount;                             // .NET numbers of unnamed groups
        private Flags _flags = new(ignoreCase, false, false, false, false, false); // modifiers in force
        private Flags _hoisted = new(ignoreCase, false, false, false, false, false); // those in RegexOptions
        private bool _quoting;                                 // inside \Q...\E

        // The last thing a quantifier may apply to: where it starts in the output (-1: nothing),
        // whether it is several UTF-16 units (needs (?:...)), and whether a quantifier just ended.
        private int _atomStart = -1;
        private bool _atomNeedsGroup;
        private bool _afterQuantifier;

        public PerlRegexTranslation Run()
        {
            while (_i < _p.Length)
            {
                Step();
            }

            if (_groups.Count > 0)
            {
                throw Fail(_groups.Peek().SourcePos, "Group '('", "is never closed (unmatched '(')");
            }

            for (var k = _fixups.Count - 1; k >= 0; k--)
            {
                var f = _fixups[k];
                _out.Insert(f.OutPos, ReferenceText(f.Number, f.Condition, f.SourcePos));
            }

            foreach (var (name, pos) in _nameRefs)
            {
                if (!_names.Contains(name))
                {
                    throw Fail(pos, "Reference to group '" + name + "'", "there is no group of that name");
                }
            }

            var options = RegexOptions.None;
            if (_hoisted.I)
            {
                options |= RegexOptions.IgnoreCase;
            }

            if (_hoisted.M)
            {
                options |= RegexOptions.Multiline;
            }

            if (_hoisted.S)
            {
                options |= RegexOptions.Singleline;
            }

            if (_hoisted.N)
            {
                options |= RegexOptions.ExplicitCapture;
            }

            return new PerlRegexTranslation(_out.ToString(), options);
        }

        private static PerlRegexException Fail(int pos, string construct, string why) =>
            new($"{construct} at index {pos}: {why}") { Position = pos };

        private char Peek(int offset = 0) => _i + offset < _p.Length ? _p[_i + offset] : '\0';

        private bool Has(int offset = 0) => _i + offset < _p.Length;

        private void Step()
        {
            if (_quoting)
            {
                QuotedLiteral();
                return;
            }

            if (SkipInsignificant())
            {
                return;
            }

            var c = _p[_i];
            switch (c)
            {
                case '\\':
                    Escape();
                    break;
                case '[':
                    CharClass();
                    break;
                case '(':
                    OpenGroup();
                    break;
                case ')':
                    CloseGroup();
                    break;
                case '|':
                    Bar();
                    break;
                case '*' or '+' or '?':
                    ApplyQuantifier(_i, c == '+' ? 1 : 0, c == '?' ? 1 : -1, c.ToString(), _i + 1);
                    break;
                case '{':
                    if (!TryBraceQuantifier())
                    {
                        _i++;
                        Literal('{');
                    }

                    break;
                case '^':
                    _i++;
                    Atom(_flags.M ? MultilineCaret : "^");
                    break;
                case '$' or '.':
                    _i++;
                    Atom(c.ToString());
                    break;
                default:
                    SourceLiteral();
                    break;
            }
        }

        // Skips what Perl ignores between tokens: /x white space and # comments, and (?#...).
        // Comments do not end an atom, so "a(?#c)+" still repeats 'a'.
        private bool SkipInsignificant()
        {
            var skipped = false;
            while (Has())
            {
                var c = _p[_i];
                if (_flags.X && IsPatternWhiteSpace(c))
                {
                    _i++;
                }
                else if (_flags.X && c == '#')
                {
                    var nl = _p.IndexOf('\n', _i);
                    _i = nl < 0 ? _p.Length : nl + 1;
                }
                else if (c == '(' && Peek(1) == '?' && Peek(2) == '#')
                {
                    var close = _p.IndexOf(')', _i);
                    if (close < 0)
                    {
                        throw Fail(_i, "Comment (?#...", "is not terminated by ')'");
                    }

                    _i = close + 1;
                }
                else
                {
                    break;
                }

                skipped = true;
            }

            return skipped;
        }

        private void BeginAtom()
        {
            _atomStart = _out.Length;
            _atomNeedsGroup = false;
            _afterQuantifier = false;
        }

        private void NoAtom()
        {
            _atomStart = -1;
            _atomNeedsGroup = false;
            _afterQuantifier = false;
        }

        private void Atom(string text)
        {
            BeginAtom();
            _out.Append(text);
        }

        private void Literal(int cp)
        {
            BeginAtom();
            AppendLiteral(cp);
        }

        // A pattern character taken literally; keeps a surrogate pair together as one atom.
        private void SourceLiteral()
        {
            var c = _p[_i];
            if (char.IsHighSurrogate(c) && char.IsLowSurrogate(Peek(1)))
            {
                Literal(char.ConvertToUtf32(c, _p[_i + 1]));
                _i += 2;
                return;
            }

            _i++;
            Literal(c);
        }

        // Appends one literal code point outside a class, escaped for .NET.
        private void AppendLiteral(int cp)
        {
            if (cp > 0xFFFF)
            {
                _out.Append(char.ConvertFromUtf32(cp));
                _atomNeedsGroup = true;
                return;
            }

            var c = (char)cp;
            switch (c)
            {
                case '\\' or '*' or '+' or '?' or '|' or '{' or '}' or '[' or ']' or '(' or ')' or '^' or '$' or '.' or '#':
                    _out.Append('\\').Append(c);
                    break;
                case '\t':
                    _out.Append(@"\t");
                    break;
                case '\n':
                    _out.Append(@"\n");
                    break;
                case '\r':
                    _out.Append(@"\r");
                    break;
                case '\f':
                    _out.Append(@"\f");
                    break;
                default:
                    if (c < 0x20 || c is >= '\x7F' and <= '\xA0' || char.IsSurrogate(c) || c is '\u2028' or '\u2029')
                    {
                        _out.Append(NumericEscape(c, preferX: true));
                    }
                    else
                    {
                        _out.Append(c);
                    }

                    break;
            }
        }

        // A numeric escape from the pattern (\x41, \x{263A}, \o{101}, \012): always emitted as a
        // fixed-width escape so that a following digit cannot join it.
        private void NumericAtom(int cp, bool preferX)
        {
            BeginAtom();
            _out.Append(NumericEscape(cp, preferX));
            _atomNeedsGroup = cp > 0xFFFF;
        }

        // Inserts text at the start of the current atom (for (?>...) and (?:...) wrapping).
        private void InsertAtAtom(string text)
        {
            _out.Insert(_atomStart, text);
            foreach (var f in _fixups)
            {
                if (f.OutPos >= _atomStart)
                {
                    f.OutPos += text.Length;
                }
            }
        }

        // ---- \Q...\E ------------------------------------------------------------------------

        // Inside \Q...\E everything is literal. As in Perl's own handling of \Q, a "\\" pair stays
        // two backslashes and only an unescaped \E ends the quote.
        private void QuotedLiteral()
        {
            var c = _p[_i];
            if (c == '\\' && Peek(1) == 'E')
            {
                _quoting = false;
                _i += 2;
            }
            else if (c == '\\' && Peek(1) == '\\')
            {
                Literal('\\');
                Literal('\\');
                _i += 2;
            }
            else
            {
                SourceLiteral();
            }
        }

        // ---- quantifiers --------------------------------------------------------------------

        // Perl 5.34+ brace quantifiers: {n} {n,} {n,m} {,m}, blanks allowed inside.
        // Anything else ("x{foo}", "a{,}") is a literal '{'.
        private bool TryBraceQuantifier()
        {
            var start = _i;
            if (!ScanBraceQuantifier(start, out var lo, out var hi, out var end))
            {
                return false;
            }

            if (_atomStart < 0 && !_afterQuantifier)
            {
                return false; // Perl: "{3}" with nothing before it is literal text
            }

            var text = hi == lo ? $"{{{lo}}}" : hi < 0 ? $"{{{lo},}}" : $"{{{lo},{hi}}}";
            ApplyQuantifier(start, lo, hi, text, end);
            return true;
        }

        // Reads a brace quantifier at 'start' without consuming it; hi is -1 when unbounded,
        // end is the index after '}'.
        private bool ScanBraceQuantifier(int start, out int lo, out int hi, out int end)
        {
            lo = hi = end = 0;
            var j = SkipBlanks(start + 1);
            var min = ReadNumber(ref j, start);
            j = SkipBlanks(j);
            var max = min;
            var hasComma = j < _p.Length && _p[j] == ',';
            if (hasComma)
            {
                j = SkipBlanks(j + 1);
                max = ReadNumber(ref j, start);
                j = SkipBlanks(j);
            }

            if (j >= _p.Length || _p[j] != '}' || (min < 0 && max < 0))
            {
                return false;
            }

            lo = (int)Math.Max(min, 0);
            hi = (int)max;
            end = j + 1;
            return true;
        }

        private int SkipBlanks(int j)
        {
            while (j < _p.Length && _p[j] is ' ' or '\t')
            {
                j++;
            }

            return j;
        }

        // Reads decimal digits at j; -1 when there are none.
        private long ReadNumber(ref int j, int start)
        {
            if (j >= _p.Length || !char.IsAsciiDigit(_p[j]))
            {
                return -1;
            }

            long n = 0;
            while (j < _p.Length && char.IsAsciiDigit(_p[j]))
            {
                n = n * 10 + (_p[j] - '0');
                if (n >= int.MaxValue)
                {
                    throw Fail(start, "Quantifier {n,m}", "the count is too large");
                }

                j++;
            }

            return n;
        }

        // Applies a quantifier (min, max; max -1 = unbounded) to the current atom, then reads a
        // lazy '?' or possessive '+' after it. Possessive becomes an atomic group: a*+ -> (?>a*).
        private void ApplyQuantifier(int pos, int min, int max, string text, int next)
        {
            if (_atomStart < 0)
            {
                throw _afterQuantifier
                    ? Fail(pos, "Quantifier '" + text + "'", "follows another quantifier (nested quantifiers)")
                    : Fail(pos, "Quantifier '" + text + "'", "follows nothing");
            }

            _i = next;
            var impossible = max >= 0 && min > max;
            if (impossible)
            {
                // Perl compiles {n,m} with n > m to a failure but still counts the groups inside.
                InsertAtAtom("(?:(?!)");
                _out.Append(')');
            }
            else
            {
                if (_atomNeedsGroup)
                {
                    InsertAtAtom("(?:");
                    _out.Append(')');
                }
                else if (IsBareAtomicGroup(_atomStart))
                {
                    // .NET (10.0.12) wrongly merges a loop around an atomic one-character loop:
                    // it runs (?>\d+)?1 as (?>\d*)1, which fails on "1". An always-true lookahead
                    // after the atomic group keeps the two loops apart.
                    InsertAtAtom("(?:");
                    _out.Append(AlwaysTrue).Append(')');
                }

                _out.Append(text);
            }

            SkipInsignificant();
            if (Peek() == '?' && Has())
            {
                _i++;
                if (!impossible)
                {
                    _out.Append('?');
                }
            }
            else if (Peek() == '+' && Has())
            {
                _i++;
                if (!impossible)
                {
                    InsertAtAtom("(?>");
                    _out.Append(')');
                }
            }

            _atomStart = -1;
            _atomNeedsGroup = false;
            _afterQuantifier = true;
        }

        // True when the output from 'start' is one atomic group "(?>...)", possibly inside
        // groups that .NET strips away: "(?:...)", "(?i:...)".
        private bool IsBareAtomicGroup(int start)
        {
            var s = _out.ToString(start, _out.Length - start);
            int from = 0, to = s.Length; // the window s[from..to)
            while (to - from >= 4 && s[from] == '(' && s[from + 1] == '?' && MatchingParen(s, from) == to - 1)
            {
                if (s[from + 2] == '>')
                {
                    return true;
                }

                var k = from + 2;
                while (k < to && s[k] is 'i' or 'm' or 's' or 'n' or '-')
                {
                    k++;
                }

                if (s[k] != ':')
                {
                    return false;
                }

                from = k + 1;
                to--;
            }

            return false;
        }

        // Index of the ')' closing the '(' at 'open' in translated output; -1 if none.
        private static int MatchingParen(string s, int open)
        {
            var depth = 0;
            for (var k = open; k < s.Length; k++)
            {
                switch (s[k])
                {
                    case '\\':
                        k++;
                        break;
                    case '[':
                        // Our classes escape every literal '[' and ']', so the first bare ']' ends it.
                        for (k++; k < s.Length && s[k] != ']'; k++)
                        {
                            if (s[k] == '\\')
                            {
                                k++;
                            }
                        }

                        break;
                    case '(':
                        depth++;
                        break;
                    case ')':
                        if (--depth == 0)
                        {
                            return k;
                        }

                        break;
                }
            }

            return -1;
        }

        // ---- groups -------------------------------------------------------------------------

        private void Push(int sourcePos, string text, GroupKind kind = GroupKind.Plain)
        {
            _groups.Push(new Group(_flags, sourcePos, _out.Length, kind));
            _out.Append(text);
            NoAtom();
        }

        private void AddCapture(string? name)
        {
            _captures.Add(new Capture(name, name is null ? ++_unnamedCount : 0));
            if (name is not null)
            {
                _names.Add(name);
            }
        }

        private void CloseGroup()
        {
            if (_groups.Count == 0)
            {
                throw Fail(_i, "')'", "has no matching '(' (unmatched ')')");
            }

            var g = _groups.Pop();
            _flags = g.Saved;
            _i++;
            _out.Append(')');
            _atomStart = g.OutStart;
            _atomNeedsGroup = false;
            _afterQuantifier = false;
        }

        private void Bar()
        {
            if (_groups.Count > 0 && _groups.Peek().Kind == GroupKind.Conditional && ++_groups.Peek().Bars > 1)
            {
                throw Fail(_i, "Conditional (?(...)...)", "has more than two branches");
            }

            _i++;
            _out.Append('|');
            NoAtom();
        }

        private void OpenGroup()
        {
            var pos = _i;
            if (Peek(1) == '*')
            {
                StarGroup(pos);
                return;
            }

            if (Peek(1) != '?')
            {
                _i++;
                if (_flags.N)
                {
                    Push(pos, "(?:"); // /n: plain parentheses do not capture
                }
                else
                {
                    AddCapture(null);
                    Push(pos, "(");
                }

                return;
            }

            _i += 2;
            if (!Has())
            {
                throw Fail(pos, "Group '(?'", "is not terminated");
            }

            var c = _p[_i];
            switch (c)
            {
                case ':':
                    _i++;
                    Push(pos, "(?:");
                    break;
                case '=' or '!' or '>':
                    _i++;
                    Push(pos, "(?" + c);
                    break;
                case '<' when Peek(1) is '=' or '!':
                    _i += 2;
                    Push(pos, "(?<" + _p[_i - 1]);
                    break;
                case '<':
                    NamedGroup(pos, '>');
                    break;
                case '\'':
                    NamedGroup(pos, '\'');
                    break;
                case 'P':
                    PythonGroup(pos);
                    break;
                case '|':
                    throw Fail(pos, "Branch reset (?|...)", ".NET has no branch-reset groups");
                case '(':
                    Conditional(pos);
                    break;
                case 'R' or '&' or (>= '0' and <= '9'):
                case '+' or '-' when char.IsAsciiDigit(Peek(1)):
                    throw Fail(pos, "Recursion " + Excerpt(pos, ')'), "recursive subpatterns are not supported by .NET");
                case '{':
                    throw Fail(pos, "Code block (?{...})", "embedded Perl code cannot run in .NET");
                case '?' when Peek(1) == '{':
                    throw Fail(pos, "Postponed code block (??{...})", "embedded Perl code cannot run in .NET");
                case '[':
                    throw Fail(pos, "Extended bracketed character class (?[...])", "set operations are not supported");
                default:
                    InlineFlags(pos);
                    break;
            }
        }

        // The construct text from pos up to and including the next 'close' (for messages).
        private string Excerpt(int pos, char close)
        {
            var end = _p.IndexOf(close, pos);
            end = end < 0 ? Math.Min(_p.Length, pos + 20) : Math.Min(end + 1, pos + 40);
            return _p[pos..end];
        }

        private string ReadName(int pos, char close, string construct)
        {
            var end = _p.IndexOf(close, _i);
            if (end < 0)
            {
                throw Fail(pos, construct, "is not terminated by '" + close + "'");
            }

            var name = _p[_i..end];
            if (!IsValidName(name))
            {
                throw Fail(pos, construct, "'" + name + "' is not a valid group name (a letter or '_', then letters, digits or '_')");
            }

            _i = end + 1;
            return name;
        }

        // (?<name>...) and (?'name'...): the same in .NET, written (?<name>...).
        private void NamedGroup(int pos, char close)
        {
            _i++;
            var name = ReadName(pos, close, "Named group (?<name>...)");
            AddCapture(name);
            Push(pos, "(?<" + name + ">");
        }

        // Python-style (?P<name>...), (?P=name) and (?P>name).
        private void PythonGroup(int pos)
        {
            var kind = Peek(1);
            _i += 2;
            switch (kind)
            {
                case '<':
                    var name = ReadName(pos, '>', "Named group (?P<name>...)");
                    AddCapture(name);
                    Push(pos, "(?<" + name + ">");
                    break;
                case '=':
                    var refName = ReadName(pos, ')', "Named backreference (?P=name)");
                    NamedReference(refName, pos);
                    break;
                case '>':
                    throw Fail(pos, "Recursion " + Excerpt(pos, ')'), "recursive subpatterns are not supported by .NET");
                default:
                    throw Fail(pos, "Sequence (?P" + kind + "...)", "is not recognized");
            }
        }

        // (?(1)yes|no), (?(<name>)...), (?('name')...), (?(?=...)...) map to .NET's conditionals.
        private void Conditional(int pos)
        {
            var condPos = _i; // at the '(' of the condition
            _i++;
            var c = Peek();
            if (char.IsAsciiDigit(c))
            {
                var j = _i;
                var n = ReadNumber(ref j, pos);
                if (j >= _p.Length || _p[j] != ')')
                {
                    throw Fail(pos, "Conditional (?(N)...)", "the group number must be followed by ')'");
                }

                _i = j + 1;
                if (n == 0)
                {
                    throw Fail(pos, "Conditional (?(0)...)", "there is no group 0");
                }

                Push(pos, "(?(", GroupKind.Conditional);
                EmitReference((int)n, pos, condition: true);
                _out.Append(')');
                return;
            }

            if (c is '<' or '\'')
            {
                _i++;
                var name = ReadName(pos, c == '<' ? '>' : '\'', "Conditional (?(<name>)...)");
                if (Peek() != ')')
                {
                    throw Fail(pos, "Conditional (?(<name>)...)", "the name must be followed by ')'");
                }

                _i++;
                Push(pos, "(?(", GroupKind.Conditional);
                _out.Append(name).Append(')');
                _nameRefs.Add((name, pos));
                return;
            }

            if (c == '?' && (Peek(1) is '=' or '!' || (Peek(1) == '<' && Peek(2) is '=' or '!')))
            {
                // The lookaround itself is parsed as an ordinary group right after "(?".
                Push(pos, "(?", GroupKind.Conditional);
                _i = condPos;
                return;
            }

            if (c == 'R')
            {
                throw Fail(pos, "Recursion condition " + Excerpt(pos, ')'), "recursion is not supported by .NET");
            }

            if (_p.AsSpan(_i).StartsWith("DEFINE", StringComparison.Ordinal))
            {
                throw Fail(pos, "(?(DEFINE)...)", "subroutine definitions need recursion, which .NET does not support");
            }

            throw Fail(pos, "Conditional " + Excerpt(pos, ')'), "unknown switch condition");
        }

        // (*VERB), (*VERB:ARG) and the alphabetic assertions (*pla:...) etc.
        private void StarGroup(int pos)
        {
            var j = _i + 2;
            while (j < _p.Length && (char.IsAsciiLetter(_p[j]) || _p[j] == '_'))
            {
                j++;
            }

            var name = _p[(_i + 2)..j];
            if (j < _p.Length && _p[j] == ':')
            {
                string? open = name switch
                {
                    "pla" or "positive_lookahead" => "(?=",
                    "nla" or "negative_lookahead" => "(?!",
                    "plb" or "positive_lookbehind" => "(?<=",
                    "nlb" or "negative_lookbehind" => "(?<!",
                    "atomic" => "(?>",
                    _ => null,
                };
                if (open is not null)
                {
                    _i = j + 1;
                    Push(pos, open);
                    return;
                }

                if (name is "sr" or "script_run" or "asr" or "atomic_script_run")
                {
                    throw Fail(pos, "Script run (*" + name + ":...)", ".NET has no script-run assertions");
                }
            }

            throw Fail(pos, "Backtracking control verb " + Excerpt(pos, ')'), "backtracking control verbs are not supported by .NET");
        }

        // (?imsx-imsx), (?^...), with ')' (rest of the enclosing group) or ':' (a group of its own).
        // i, m, s and n go to .NET as written (so they also hold against options a caller adds);
        // x is applied here; a, u, l, d, p, o only concern Perl and are dropped.
        private void InlineFlags(int pos)
        {
            var caret = Peek() == '^';
            if (caret)
            {
                _i++;
            }

            // Caret: back to Perl's defaults (d-imnsx), then apply the letters that follow.
            var next = caret ? new Flags(false, false, false, false, false, false) : _flags;
            var on = new StringBuilder();
            var off = new StringBuilder();
            var minus = false;
            while (true)
            {
                if (!Has())
                {
                    throw Fail(pos, "Group '(?'", "is not terminated");
                }

                var c = _p[_i];
                if (c is ')' or ':')
                {
                    break;
                }

                _i++;
                switch (c)
                {
                    case '-':
                        if (caret || minus)
                        {
                            throw Fail(pos, "Modifier group " + Excerpt(pos, ')'), "'-' is not allowed here");
                        }

                        minus = true;
                        break;
                    case 'i' or 'm' or 's' or 'n':
                        next = c switch
                        {
                            'i' => next with { I = !minus },
                            'm' => next with { M = !minus },
                            's' => next with { S = !minus },
                            _ => next with { N = !minus },
                        };
                        (minus ? off : on).Append(c);
                        break;
                    case 'x':
                        // "xx" also ignores blanks inside bracketed classes.
                        next = minus
                            ? next with { X = false, XX = false }
                            : next with { X = true, XX = next.XX || (_i - 2 >= pos + 2 && _p[_i - 2] == 'x') };
                        break;
                    case 'a' or 'u' or 'l' or 'd':
                        // Character-set modifiers: .NET always uses Unicode rules, as Perl does on text.
                        if (minus)
                        {
                            throw Fail(pos, "Modifier group " + Excerpt(pos, ')'), "modifier '" + c + "' may not appear after '-'");
                        }

                        break;
                    case 'p' or 'o' or 'g' or 'c':
                        break; // no effect on what matches (Perl ignores them or only warns)
                    default:
                        throw Fail(pos, "Sequence " + Excerpt(pos, ')'), "'" + c + "' is not a regex modifier");
                }
            }

            if (caret)
            {
                foreach (var letter in "imsn")
                {
                    if (on.ToString().IndexOf(letter, StringComparison.Ordinal) < 0)
                    {
                        off.Append(letter);
                    }
                }
            }

            var spec = off.Length > 0 ? on + "-" + off : on.ToString();
            var ender = _p[_i++];
            if (ender == ':')
            {
                Push(pos, "(?" + spec + ":");
                _flags = next;
                return;
            }

            if (_out.Length == 0 && _groups.Count == 0 && off.Length == 0)
            {
                // Leading modifiers that only switch things on cover the whole pattern: make them
                // RegexOptions, so callers see them.
                _hoisted = next;
            }
            else if (spec.Length > 0)
            {
                _out.Append("(?").Append(spec).Append(')');
            }

            _flags = next;
            NoAtom();
        }

        // ---- backreferences -----------------------------------------------------------------

        // A reference to Perl group n: named groups by name, unnamed ones by their .NET number.
        private void EmitReference(int n, int pos, bool condition)
        {
            if (n <= _captures.Count)
            {
                _out.Append(ReferenceText(n, condition, pos));
            }
            else
            {
                _fixups.Add(new Fixup(_out.Length, n, pos, condition));
            }
        }

        private string ReferenceText(int n, bool condition, int pos)
        {
            if (n > _captures.Count && condition)
            {
                return "?!"; // Perl: a condition on a group that does not exist is false: (?(?!)yes|no)
            }

            if (n > _captures.Count)
            {
                throw Fail(pos, "Reference to group " + n, "the pattern has only " + _captures.Count + " capture group(s)");
            }

            var cap = _captures[n - 1];
            var target = cap.Name ?? cap.DotNetNumber.ToString(CultureInfo.InvariantCulture);
            return condition ? target : @"\k<" + target + ">";
        }

        private void NumberedReference(int n, int pos)
        {
            BeginAtom();
            EmitReference(n, pos, condition: false);
        }

        private void NamedReference(string name, int pos)
        {
            BeginAtom();
            _out.Append(@"\k<").Append(name).Append('>');
            _nameRefs.Add((name, pos));
        }

        // \1..\9 are always backreferences; \10 and up only if that many groups were opened
        // before, otherwise octal (Perl's rule).
        private void DigitEscape(int pos)
        {
            var start = _i; // first digit
            var j = start;
            while (j < _p.Length && char.IsAsciiDigit(_p[j]) && j - start < 9)
            {
                j++;
            }

            var n = int.Parse(_p.AsSpan(start, j - start), CultureInfo.InvariantCulture);
            if (j - start == 1 || n <= _captures.Count || _p[start] is '8' or '9')
            {
                _i = j;
                NumberedReference(n, pos);
                return;
            }

            NumericAtom(ReadOctalDigits(3), preferX: false);
        }

        private void GEscape(int pos)
        {
            string body;
            if (Peek() == '{')
            {
                var close = _p.IndexOf('}', _i);
                if (close < 0)
                {
                    throw Fail(pos, @"\g{", "is not terminated by '}'");
                }

                body = _p[(_i + 1)..close].Trim();
                _i = close + 1;
            }
            else
            {
                var j = _i;
                if (j < _p.Length && _p[j] == '-')
                {
                    j++;
                }

                while (j < _p.Length && char.IsAsciiDigit(_p[j]))
                {
                    j++;
                }

                body = _p[_i..j];
                _i = j;
            }

            var digits = body.StartsWith('-') ? body[1..] : body;
            if (digits.Length > 0 && digits.All(char.IsAsciiDigit))
            {
                if (digits.Length > 9)
                {
                    throw Fail(pos, @"\g" + body, "the group number is too large");
                }

                var n = int.Parse(digits, CultureInfo.InvariantCulture);
                if (body.StartsWith('-'))
                {
                    // Relative: \g{-1} is the group opened most recently before this point.
                    var target = _captures.Count - n + 1;
                    if (n == 0 || target < 1)
                    {
                        throw Fail(pos, @"\g{" + body + "}", "refers to a group before the first one");
                    }

                    NumberedReference(target, pos);
                    return;
                }

                if (n == 0)
                {
                    throw Fail(pos, @"\g0", "group 0 is the whole match (a recursion), not supported");
                }

                NumberedReference(n, pos);
                return;
            }

            if (IsValidName(body))
            {
                NamedReference(body, pos);
                return;
            }

            throw Fail(pos, @"\g" + (body.Length == 0 ? "" : "{" + body + "}"), "needs a group number or name (unterminated \\g... pattern)");
        }

        private void KEscape(int pos)
        {
            var open = Peek();
            char close = open switch { '<' => '>', '\'' => '\'', '{' => '}', _ => '\0' };
            if (close == '\0')
            {
                throw Fail(pos, @"\k", "must be followed by <name>, 'name' or {name}");
            }

            _i++;
            var name = ReadName(pos, close, @"Named backreference \k" + open + "name" + close);
            NamedReference(name, pos);
        }

        // ---- escapes outside a class --------------------------------------------------------

        private void Escape()
        {
            var pos = _i;
            if (!Has(1))
            {
                throw Fail(pos, "'\\'", "ends the pattern (trailing backslash)");
            }

            var c = _p[_i + 1];
            _i += 2;
            switch (c)
            {
                case 'Q':
                    _quoting = true;
                    break;
                case 'E':
                    break; // a stray \E is dropped, as Perl's interpolation does
                case 'l' or 'u' or 'L' or 'U' or 'F':
                    throw Fail(pos, "\\" + c, "case-changing escapes belong to Perl string interpolation and are not supported");
                case 'A' or 'z' or 'Z' or 'G' or 'd' or 'D' or 'w' or 'W' or 's' or 'S':
                    Atom("\\" + c);
                    break;
                case 'b' or 'B':
                    if (Peek() == '{')
                    {
                        throw Fail(pos, "\\" + c + Excerpt(_i, '}'), "Unicode boundary types are not supported by .NET");
                    }

                    // \B as (?!\b): the same assertion, but .NET (10.0.12) mis-optimizes a loop before a
                    // plain \B, e.g. \W+\B\W fails on "..".
                    Atom(c == 'b' ? @"\b" : @"(?!\b)");
                    break;
                case 'h' or 'H':
                    Atom(Blank.Render(c == 'H'));
                    break;
                case 'v' or 'V':
                    Atom(Vertical.Render(c == 'V'));
                    break;
                case 'R':
                    Atom(@"(?>\r\n|[" + VerticalSpace + "])"); // atomic, like Perl's \R
                    break;
                case 'N':
                    if (Peek() == '{' && !ScanBraceQuantifier(_i, out _, out _, out _))
                    {
                        foreach (var cp in NamedCharacter(pos))
                        {
                            NumericAtom(cp, preferX: false);
                        }
                    }
                    else
                    {
                        Atom(@"[^\n]");
                    }

                    break;
                case 'K':
                    throw Fail(pos, @"\K", ".NET cannot reset the start of the match (keep)");
                case 'X':
                    throw Fail(pos, @"\X", "extended grapheme clusters are not supported by .NET");
                case 'C':
                    throw Fail(pos, @"\C", "single-byte matching is not supported (Perl removed it too)");
                case 'p' or 'P':
                    Atom(Property(pos, c == 'P', out var negate).Render(negate));
                    break;
                case 'x':
                    NumericAtom(Hex(pos), preferX: true);
                    break;
                case 'o':
                    NumericAtom(OctalBraces(pos), preferX: false);
                    break;
                case '0':
                    _i--;
                    NumericAtom(ReadOctalDigits(3), preferX: false);
                    break;
                case >= '1' and <= '9':
                    _i--;
                    DigitEscape(pos);
                    break;
                case 'g':
                    GEscape(pos);
                    break;
                case 'k':
                    KEscape(pos);
                    break;
                case 'c':
                    ControlAtom(pos);
                    break;
                case 'a' or 'e' or 'f' or 'n' or 'r' or 't':
                    Atom("\\" + c);
                    break;
                default:
                    // Perl takes any other escaped character as itself (\/ \@ \- \y \_).
                    _i--;
                    SourceLiteral();
                    break;
            }
        }

        // \cX: Perl's control character is the upper-cased X xor 64.
        private void ControlAtom(int pos)
        {
            var cp = ControlChar(pos);
            if (char.IsAsciiLetter(_p[_i - 1]))
            {
                Atom(@"\c" + char.ToUpperInvariant(_p[_i - 1]));
            }
            else
            {
                NumericAtom(cp, preferX: true);
            }
        }

        private int ControlChar(int pos)
        {
            if (!Has())
            {
                throw Fail(pos, @"\c", "needs a character after it");
            }

            var c = _p[_i++];
            if (c == '{')
            {
                throw Fail(pos, @"\c{", "is not allowed (use ';')");
            }

            if (c is < ' ' or > '~')
            {
                throw Fail(pos, @"\c", "must be followed by a printable ASCII character");
            }

            return char.ToUpperInvariant(c) ^ 64;
        }

        // \xHH (0-2 hex digits) or \x{...} (blanks and '_' allowed, empty = 0).
        private int Hex(int pos)
        {
            if (Peek() != '{')
            {
                var v = 0;
                for (var k = 0; k < 2 && char.IsAsciiHexDigit(Peek()); k++)
                {
                    v = v * 16 + Convert.ToInt32(_p[_i++].ToString(), 16);
                }

                return v;
            }

            return BracedNumber(pos, @"\x{...}", 16);
        }

        private int OctalBraces(int pos)
        {
            if (Peek() != '{')
            {
                throw Fail(pos, @"\o", "needs braces: \\o{...}");
            }

            return BracedNumber(pos, @"\o{...}", 8);
        }

        private int BracedNumber(int pos, string construct, int radix)
        {
            var close = _p.IndexOf('}', _i);
            if (close < 0)
            {
                throw Fail(pos, construct, "is missing its closing '}'");
            }

            long v = 0;
            foreach (var ch in _p.AsSpan(_i + 1, close - _i - 1).Trim(" \t"))
            {
                if (ch == '_')
                {
                    continue;
                }

                var d = char.IsAsciiHexDigit(ch) ? Convert.ToInt32(ch.ToString(), 16) : 99;
                if (d >= radix)
                {
                    break; // Perl: a non-digit ends the number early ("\x{4z}" is "\x{04}")
                }

                v = v * radix + d;
                if (v > 0x10FFFF)
                {
                    throw Fail(pos, construct, "the code point is above U+10FFFF");
                }
            }

            _i = close + 1;
            return (int)v;
        }

        // Up to 'max' octal digits at _i (at least one is there).
        private int ReadOctalDigits(int max)
        {
            var v = 0;
            for (var k = 0; k < max && Peek() is >= '0' and <= '7'; k++)
            {
                v = v * 8 + (_p[_i++] - '0');
            }

            return v;
        }

        // \N{U+263A} or \N{U+41.42}; names need Perl's Unicode name tables and are refused.
        private List<int> NamedCharacter(int pos)
        {
            var close = _p.IndexOf('}', _i);
            if (close < 0)
            {
                throw Fail(pos, @"\N{...}", "is missing its closing '}'");
            }

            var body = _p[(_i + 1)..close].Trim();
            if (!body.StartsWith("U+", StringComparison.OrdinalIgnoreCase))
            {
                throw Fail(pos, @"\N{" + body + "}", "named characters are not supported; write \\N{U+XXXX} or \\x{XXXX}");
            }

            var result = new List<int>();
            foreach (var part in body[2..].Split('.'))
            {
                var hex = part.Replace("_", "", StringComparison.Ordinal);
                if (hex.Length == 0 || hex.Length > 6 || !hex.All(char.IsAsciiHexDigit))
                {
                    throw Fail(pos, @"\N{" + body + "}", "'" + part + "' is not a hex code point");
                }

                var cp = Convert.ToInt32(hex, 16);
                if (cp > 0x10FFFF)
                {
                    throw Fail(pos, @"\N{" + body + "}", "the code point is above U+10FFFF");
                }

                result.Add(cp);
            }

            _i = close + 1;
            return result;
        }

        // \pL, \p{Lu}, \p{^Lu}, \P{...}, \p{Gc=Lu}, \p{InCyrillic}, \p{Alpha} ...
        private CharSet Property(int pos, bool upperP, out bool negate)
        {
            var esc = upperP ? @"\P" : @"\p";
            string raw;
            if (Peek() == '{')
            {
                var close = _p.IndexOf('}', _i);
                if (close < 0)
                {
                    throw Fail(pos, esc + "{...}", "is missing its closing '}'");
                }

                raw = _p[(_i + 1)..close].Trim();
                _i = close + 1;
            }
            else if (Has() && char.IsLetter(Peek()))
            {
                raw = _p[_i++].ToString(); // \pL: one-letter name without braces
            }
            else
            {
                throw Fail(pos, esc, "needs a property name");
            }

            negate = upperP;
            if (raw.StartsWith('^'))
            {
                negate = !negate;
                raw = raw[1..].Trim();
            }

            return ResolveProperty(raw, pos, esc + "{" + raw + "}");
        }

        private static CharSet ResolveProperty(string raw, int pos, string construct)
        {
            if (raw is "L&" or "L_" or "l&" or "l_")
            {
                return GeneralCategories["lc"];
            }

            var sep = raw.IndexOfAny(['=', ':']);
            if (sep >= 0)
            {
                var key = Loose(raw[..sep]);
                var value = Loose(raw[(sep + 1)..]);
                switch (key)
                {
                    case "gc" or "generalcategory" or "category":
                        if (GeneralCategories.TryGetValue(value, out var gc))
                        {
                            return gc;
                        }

                        break;
                    case "blk" or "block":
                        if (Blocks.TryGetValue(value, out var blk))
                        {
                            return Cat(blk);
                        }

                        break;
                    case "sc" or "script" or "scx" or "scriptextensions":
                        throw Fail(pos, construct, "Unicode scripts are not supported by .NET; use a block such as \\p{InCyrillic}");
                }

                throw Fail(pos, construct, "unknown or unsupported Unicode property");
            }

            var n = Loose(raw);
            if (TryNamed(n, out var set) || (n.StartsWith("is", StringComparison.Ordinal) && TryNamed(n[2..], out set)))
            {
                return set;
            }

            if (n.StartsWith("in", StringComparison.Ordinal) && Blocks.TryGetValue(n[2..], out var block))
            {
                return Cat(block);
            }

            var bare = n.StartsWith("is", StringComparison.Ordinal) ? n[2..] : n;
            if (Scripts.Contains(bare))
            {
                var hint = Blocks.ContainsKey(bare) ? "; for the block of that name write \\p{In" + (bare == n ? raw : raw[2..]) + "}" : "";
                throw Fail(pos, construct, "Perl reads this as a Unicode script, which .NET does not support" + hint);
            }

            if (Blocks.TryGetValue(bare, out block))
            {
                return Cat(block);
            }

            throw Fail(pos, construct, "unknown or unsupported Unicode property");
        }

        private static bool TryNamed(string n, out CharSet set) =>
            GeneralCategories.TryGetValue(n, out set!) || PerlProperties.TryGetValue(n, out set!);

        // ---- bracketed classes --------------------------------------------------------------

        private void CharClass()
        {
            var start = _i++;
            var cls = new ClassBuilder();
            var negated = false;
            if (Peek() == '^' && Has())
            {
                negated = true;
                _i++;
            }

            var first = true;
            while (true)
            {
                if (!Has())
                {
                    throw Fail(start, "Character class '['", "is never closed (unmatched '[')");
                }

                var c = _p[_i];
                if (_quoting)
                {
                    QuotedClassMember(cls);
                    continue;
                }

                if (c == ']' && !first)
                {
                    _i++;
                    break;
                }

                first = false;
                if (_flags.XX && c is ' ' or '\t')
                {
                    _i++;
                    continue;
                }

                var itemStart = _i;
                var item = ClassMember(start);
                if (item.Kind == ItemKind.Set)
                {
                    cls.AddSet(item.Set!, item.Negate);
                    continue;
                }

                if (item.Kind == ItemKind.None)
                {
                    continue;
                }

                // A code point: is it the start of a range?
                var dash = SkipClassBlanks(_i);
                var hiStart = dash < _p.Length && _p[dash] == '-' ? SkipClassBlanks(dash + 1) : -1;
                if (hiStart < 0 || hiStart >= _p.Length || _p[hiStart] == ']')
                {
                    cls.AddRange(item.CodePoint, item.CodePoint);
                    continue;
                }

                _i = hiStart;
                var hi = ClassMember(start);
                if (hi.Kind == ItemKind.CodePoint)
                {
                    if (hi.CodePoint < item.CodePoint)
                    {
                        throw Fail(itemStart, "Range " + _p[itemStart.._i], "is in reverse order (invalid [] range)");
                    }

                    cls.AddRange(item.CodePoint, hi.CodePoint);
                    continue;
                }

                // Perl: a range to a class like [a-\d] is no range; '-' is literal.
                cls.AddRange(item.CodePoint, item.CodePoint);
                cls.AddRange('-', '-');
                if (hi.Kind == ItemKind.Set)
                {
                    cls.AddSet(hi.Set!, hi.Negate);
                }
            }

            var text = cls.Build(negated);
            Atom(text);
        }

        // Under /xx, blanks around a range's '-' are ignored too.
        private int SkipClassBlanks(int j)
        {
            while (_flags.XX && j < _p.Length && _p[j] is ' ' or '\t')
            {
                j++;
            }

            return j;
        }

        private void QuotedClassMember(ClassBuilder cls)
        {
            var c = _p[_i];
            if (c == '\\' && Peek(1) == 'E')
            {
                _quoting = false;
                _i += 2;
            }
            else if (c == '\\' && Peek(1) == '\\')
            {
                cls.AddRange('\\', '\\');
                _i += 2;
            }
            else if (char.IsHighSurrogate(c) && char.IsLowSurrogate(Peek(1)))
            {
                var cp = char.ConvertToUtf32(c, _p[_i + 1]);
                cls.AddRange(cp, cp);
                _i += 2;
            }
            else
            {
                cls.AddRange(c, c);
                _i++;
            }
        }

        private ClassItem ClassMember(int classStart)
        {
            var c = _p[_i];
            if (c == '[')
            {
                var posix = Posix();
                if (posix is not null)
                {
                    return posix.Value;
                }

                _i++;
                return new ClassItem('['); // a literal '[' (escaped on output: no class subtraction)
            }

            if (c == '\\')
            {
                return ClassEscape(classStart);
            }

            if (char.IsHighSurrogate(c) && char.IsLowSurrogate(Peek(1)))
            {
                _i += 2;
                return new ClassItem(char.ConvertToUtf32(c, _p[_i - 1]));
            }

            _i++;
            return new ClassItem(c);
        }

        // [:alpha:], [:^alpha:]; [= =] and [. .] are reserved by Perl. Null: '[' is literal.
        private ClassItem? Posix()
        {
            var pos = _i;
            var kind = Peek(1);
            if (kind == ':')
            {
                var j = _i + 2;
                var negate = j < _p.Length && _p[j] == '^';
                if (negate)
                {
                    j++;
                }

                var nameStart = j;
                while (j < _p.Length && char.IsAsciiLetter(_p[j]))
                {
                    j++;
                }

                if (j + 1 >= _p.Length || _p[j] != ':' || _p[j + 1] != ']')
                {
                    return null;
                }

                var name = _p[nameStart..j];
                if (!PosixClasses.TryGetValue(name, out var set))
                {
                    throw Fail(pos, "POSIX class [:" + name + ":]", "is unknown");
                }

                _i = j + 2;
                return new ClassItem(set, negate);
            }

            if (kind is '=' or '.')
            {
                var close = _p.IndexOf(']', _i + 2);
                if (close > _i + 2 && _p[close - 1] == kind)
                {
                    throw Fail(pos, "POSIX syntax [" + kind + " " + kind + "]", "is reserved for future extensions");
                }
            }

            return null;
        }

        private ClassItem ClassEscape(int classStart)
        {
            var pos = _i;
            if (!Has(1))
            {
                throw Fail(classStart, "Character class '['", "is never closed (unmatched '[')");
            }

            var c = _p[_i + 1];
            _i += 2;
            switch (c)
            {
                case 'd' or 'D':
                    return new ClassItem(Digit, c == 'D');
                case 'w' or 'W':
                    return new ClassItem(Word, c == 'W');
                case 's' or 'S':
                    return new ClassItem(Space, c == 'S');
                case 'h' or 'H':
                    return new ClassItem(Blank, c == 'H');
                case 'v' or 'V':
                    return new ClassItem(Vertical, c == 'V');
                case 'p' or 'P':
                    var set = Property(pos, c == 'P', out var negate);
                    return new ClassItem(set, negate);
                case 'N':
                    if (Peek() != '{')
                    {
                        throw Fail(pos, @"\N", "in a character class must be a named character \\N{...}");
                    }

                    var cps = NamedCharacter(pos);
                    if (cps.Count != 1)
                    {
                        throw Fail(pos, @"\N{...}", "a sequence of several characters cannot be a class member");
                    }

                    return new ClassItem(cps[0]);
                case 'x':
                    return new ClassItem(Hex(pos));
                case 'o':
                    return new ClassItem(OctalBraces(pos));
                case >= '0' and <= '7':
                    _i--;
                    return new ClassItem(ReadOctalDigits(3)); // in a class \1 is octal, never a backreference
                case 'c':
                    return new ClassItem(ControlChar(pos));
                case 'b':
                    return new ClassItem('\b');
                case 'a':
                    return new ClassItem('\a');
                case 'e':
                    return new ClassItem('\x1B');
                case 'f':
                    return new ClassItem('\f');
                case 'n':
                    return new ClassItem('\n');
                case 'r':
                    return new ClassItem('\r');
                case 't':
                    return new ClassItem('\t');
                case 'Q':
                    _quoting = true;
                    return ClassItem.None;
                case 'E':
                    return ClassItem.None;
                case 'l' or 'u' or 'L' or 'U' or 'F':
                    throw Fail(pos, "\\" + c, "case-changing escapes belong to Perl string interpolation and are not supported");
                default:
                    // Anything else escaped is the character itself (Perl: "passed through").
                    if (char.IsHighSurrogate(c) && char.IsLowSurrogate(Peek()))
                    {
                        _i++;
                        return new ClassItem(char.ConvertToUtf32(c, _p[_i - 1]));
                    }

                    return new ClassItem(c);
            }
        }
    }
}
