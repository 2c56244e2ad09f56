using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Config.Regexes;
using Assp.Mime;
using Assp.Mime.Html;

namespace Assp.Checks.Checks;

/// <summary>
/// What one weighted-regex search found (ASSP's BombWeight result): how many distinct matches, the sum of their
/// scores (capped at bombMaxPenaltyVal), and the strongest match for the log and the reply.
/// </summary>
public sealed class BombResult
{
    private readonly Dictionary<string, double> _found = new(StringComparer.Ordinal);

    public int Count { get; private set; }
    public double Sum { get; private set; }
    public double HighValue { get; private set; }
    /// <summary>The strongest match as shown (cut to RegExLength characters).</summary>
    public string HighName { get; private set; } = "";
    /// <summary>"(matchlength:N) " when the shown text was cut, else empty.</summary>
    public string MatchNote { get; private set; } = "";
    public bool TimedOut { get; internal set; }
    public IReadOnlyDictionary<string, double> Found => _found;

    /// <summary>Shown text of the strongest match, with the length note in front (as ASSP's reasons show it).</summary>
    public string Shown => MatchNote + HighName;

    /// <summary>A finding that is not a regex match (subject too long, raw 8-bit subject): counted as is.</summary>
    internal void AddFixed(string name, double weight)
    {
        Sum += weight;
        Count++;
        if (weight > HighValue || Count == 1)
        {
            HighValue = weight;
            HighName = name;
            MatchNote = "";
        }
        _found[name] = weight;
    }

    /// <summary>
    /// A regex match scoring <paramref name="weight"/>: the same text (case-insensitive) counts once, with its
    /// strongest weight. Returns false when it added nothing.
    /// </summary>
    internal bool AddMatch(string matched, double weight, int shownLength)
    {
        if (weight == 0) return false;
        int matchLength = matched.Length;
        var shown = matched.Length > shownLength ? matched[..shownLength] : matched;
        if (shown.Length == 0) shown = "[!empty string!]";
        else if (string.IsNullOrWhiteSpace(shown)) shown = $"[!{shown.Length} spaces only!]";
        shown = WhiteRuns.Replace(shown, " ");
        var key = shown.ToLowerInvariant();
        if (_found.TryGetValue(key, out var before) && ((before > 0 && before >= weight) || (before < 0 && before <= weight))) return false;
        _found[key] = weight;
        Sum += weight;
        Count++;
        if (Math.Abs(weight) >= Math.Abs(HighValue))
        {
            HighValue = weight;
            HighName = ControlChars.Replace(shown, m => $"'hex {(int)m.Value[0]:X2}'");
            MatchNote = HighName.Length != matchLength ? $"(matchlength:{matchLength}) " : "";
        }
        return true;
    }

    internal void Cap(double max)
    {
        if (max > 0 && Sum > max) Sum = max;
    }

    /// <summary>Adds another search's result (the header check sums sender, charset, header and subject searches).</summary>
    internal bool Merge(BombResult other)
    {
        if (other.Count == 0) return false;
        bool higher = Count == 0 || (HighValue >= 0 && other.HighValue >= HighValue) || (HighValue <= 0 && other.HighValue < HighValue);
        Count += other.Count;
        Sum += other.Sum;
        TimedOut |= other.TimedOut;
        if (higher)
        {
            HighValue = other.HighValue;
            HighName = other.HighName;
            MatchNote = other.MatchNote;
        }
        return higher;
    }

    private static readonly Regex WhiteRuns = new(@"\s+", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    private static readonly Regex ControlChars = new(@"[\x00-\x1F]", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
}

/// <summary>
/// ASSP's BombWeight: runs one weighted-regex option over a text and sums the hits' scores. A weight of at most
/// 6 multiplies the option's valence, a larger weight is the score; an entry without a weight scores the valence.
/// The search stops once the sum reaches bombMaxPenaltyVal or maxBombSearchTime has passed (checked after each
/// hit, as ASSP does); every single match is bounded by the regex timeout, so a hostile pattern cannot stall it.
/// </summary>
public static class BombSearch
{
    /// <summary>The valence each weighted option scores against (ASSP's %WeightedRe).</summary>
    public static string ValenceOf(string option) => option switch
    {
        "bombSuspiciousRe" => "bombSuspiciousValencePB",
        "blackRe" => "blackValencePB",
        "scriptRe" => "scriptValencePB",
        "testRe" => "teValencePB",
        _ => "bombValencePB",
    };

    /// <summary>Mail classes for the N/W/L/I flags of the bomb options.</summary>
    public static MailClasses Classes(MessageState st) => new(st.IsNoProcessing, st.IsWhitelisted, st.RelayOk, st.IsIsp);

    /// <summary>What the option's own switches say for a letter (bombReNP, bombReWL, bombReLocal, bombReISPIP).</summary>
    public static Func<char, bool> DefaultScan(ConfigSnapshot cfg) => letter => letter switch
    {
        'N' => cfg.GetBool("bombReNP"),
        'W' => cfg.GetBool("bombReWL"),
        'L' => cfg.GetBool("bombReLocal"),
        'I' => cfg.GetBool("bombReISPIP"),
        _ => true,
    };

    public static BombResult Run(ConfigSnapshot cfg, MessageState st, string option, string? text, BombResult? seed = null,
        Action<string>? log = null, MailClasses? classes = null)
    {
        var result = seed ?? new BombResult();
        var list = cfg.GetWeightedRegex(option);
        if (list.Count == 0 || string.IsNullOrEmpty(text)) return Finish(cfg, result);
        double max = cfg.GetDecimal("bombMaxPenaltyVal");
        if (max > 0 && result.Sum >= max) return Finish(cfg, result);
        int seconds = cfg.GetInt("maxBombSearchTime");
        var limit = TimeSpan.FromSeconds(seconds <= 0 ? 5 : seconds);
        int shownLength = Math.Max(5, cfg.GetInt("RegExLength", 32));
        var valence = cfg.GetValence(ValenceOf(option)).Message;
        long start = Stopwatch.GetTimestamp();
        foreach (var hit in list.Scan(text, classes ?? Classes(st), DefaultScan(cfg), () => result.TimedOut = true))
        {
            if (Stopwatch.GetElapsedTime(start) >= limit)
            {
                result.TimedOut = true;
                break;
            }
            result.AddMatch(hit.MatchedText, WeightedRegexList.Score(hit.Weight, valence), shownLength);
            if (max > 0 && result.Sum >= max) break;
        }
        if (result.TimedOut && log is not null) log($"info: {option} search ended early after {Stopwatch.GetElapsedTime(start).TotalSeconds:0.###} s (maxBombSearchTime {limit.TotalSeconds:0} s or a regex timeout)");
        return Finish(cfg, result);
    }

    private static BombResult Finish(ConfigSnapshot cfg, BombResult result)
    {
        result.Cap(cfg.GetDecimal("bombMaxPenaltyVal"));
        return result;
    }
}

/// <summary>
/// The texts the bomb checks search, built once per message from the parsed message (ASSP's cleanMIMEHeader2UTF8
/// and cleanMIMEBody2UTF8): the header with encoded words decoded, the decoded text parts (attachments as
/// "attachment:name" lines), and the declared charsets as "charset=NAME" lines ("charset=UNKNOWN" for one no
/// decoder knows). The body is cut to MaxBytes characters. With DoTransliterate each text is followed by its
/// spelling in ASCII letters when that differs (<see cref="Transliteration"/>).
/// </summary>
public sealed class BombTexts
{
    /// <summary>The header, decoded, one "Name: value" line each.</summary>
    public string Header { get; }
    /// <summary>The header without the fields named in bombSkipHeaderTagRe.</summary>
    public string HeaderSkipped { get; }
    /// <summary>The decoded parts as they are (bombDataRe).</summary>
    public string Data { get; }
    /// <summary>The decoded parts with HTML comments opened, soft line breaks joined and HTML entities decoded.</summary>
    public string Body { get; }
    /// <summary>"charset=NAME" lines for the header (root part and encoded words).</summary>
    public string HeaderCharsets { get; }
    /// <summary>"charset=NAME" lines for every MIME part and encoded word.</summary>
    public string AllCharsets { get; }

    private BombTexts(string header, string headerSkipped, string data, string body, string headerCharsets, string allCharsets)
    {
        Header = header;
        HeaderSkipped = headerSkipped;
        Data = data;
        Body = body;
        HeaderCharsets = headerCharsets;
        AllCharsets = allCharsets;
    }

    private static readonly ConditionalWeakTable<MimeMessage, BombTexts> Cache = [];

    public static BombTexts For(ConfigSnapshot cfg, MimeMessage msg) => Cache.GetValue(msg, m => Build(cfg, m));

    private static readonly Regex CommentEnd = new(@"(<!--.+?)-->", RegexOptions.Singleline | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(2));
    private static readonly Regex EncodedWordCharset = new(@"=\?([a-zA-Z0-9\-_]{2,20})\?[bqBQ]\?", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(2));

    private static BombTexts Build(ConfigSnapshot cfg, MimeMessage msg)
    {
        var skip = SkipTags(cfg);
        var header = new StringBuilder();
        var skipped = new StringBuilder();
        foreach (var h in msg.Headers)
        {
            var line = h.Name + ": " + h.Value + "\r\n";
            header.Append(line);
            if (skip is null || !Skipped(skip, h.Name)) skipped.Append(line);
        }

        int maxBytes = cfg.GetInt("MaxBytes", 4000);
        if (maxBytes <= 0) maxBytes = 10000;
        var data = new StringBuilder();
        foreach (var part in msg.Entities)
        {
            if (part.IsMultipart || part.EmbeddedMessage is not null) continue;
            bool text = part.ContentType.MediaType == "text";
            if (part.Headers.Contains("Content-ID") && !text) continue;   // inline images and the like
            var name = part.FileName;
            string? piece = null;
            if (name is not null) piece = "\r\nattachment:" + name + "\r\n" + (text ? part.GetText() : "");
            else if (text) piece = part.GetText();
            if (string.IsNullOrEmpty(piece)) continue;
            if (data.Length > 0 && data[^1] != '\n' && piece[0] is not ('\r' or '\n')) data.Append("\r\n");
            data.Append(piece);
            if (data.Length >= maxBytes) break;
        }
        if (data.Length > maxBytes) data.Length = maxBytes;
        var dataText = Safe(() => CommentEnd.Replace(data.ToString(), "$1"), data.ToString());
        var body = HtmlText.DecodeEntities(dataText.Replace("=\r\n", "", StringComparison.Ordinal));

        var rootCharsets = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var allCharsets = new SortedDictionary<string, string>(StringComparer.Ordinal);
        AddCharset(rootCharsets, msg.Root.Charset);
        foreach (var part in msg.Entities) AddCharset(allCharsets, part.Charset);
        var rawHeader = Encoding.Latin1.GetString(msg.Root.RawHeaders.Span);
        foreach (Match m in Safe(() => EncodedWordCharset.Matches(rawHeader).ToArray(), []))
        {
            AddEncodedWordCharset(rootCharsets, m.Groups[1].Value);
            AddEncodedWordCharset(allCharsets, m.Groups[1].Value);
        }
        var headerText = header.ToString();
        var skippedText = skipped.ToString();
        if (cfg.GetBool("DoTransliterate"))
        {
            // DoTransliterate: the text in ASCII letters is searched as well, after the original.
            headerText = WithAscii(headerText);
            skippedText = WithAscii(skippedText);
            dataText = WithAscii(dataText);
            body = WithAscii(body);
        }
        return new BombTexts(headerText, skippedText, dataText, body, Lines(rootCharsets), Lines(allCharsets));

        static string WithAscii(string text) => Transliteration.ToAscii(text) is { } ascii ? text + "\r\n" + ascii : text;

        static string Lines(SortedDictionary<string, string> set) => set.Count == 0 ? "" : string.Join("\n", set.Values) + "\n";
    }

    /// <summary>ASSP lists a declared charset, its canonical name when that differs, and UNKNOWN for one it cannot decode.</summary>
    private static void AddCharset(SortedDictionary<string, string> set, string? charset)
    {
        if (string.IsNullOrWhiteSpace(charset)) return;
        var cs = charset.Trim();
        set[cs.ToUpperInvariant()] = "charset=" + cs;
        var cleaned = Regex.Replace(Regex.Replace(cs, "^[^A-Za-z]+", ""), "[^A-Za-z0-9_\\-]+.*$", "");
        if (Charsets.GetEncoding(cleaned) is { } encoding)
        {
            var canonical = encoding.WebName;
            if (!canonical.Equals(cleaned, StringComparison.OrdinalIgnoreCase)) set[canonical.ToUpperInvariant()] = "charset=" + canonical;
        }
        else set["UNKNOWN"] = "charset=UNKNOWN";
    }

    private static void AddEncodedWordCharset(SortedDictionary<string, string> set, string charset)
    {
        if (Charsets.GetEncoding(charset) is not null) set[charset.ToUpperInvariant()] = "charset=" + charset;
    }

    private static Regex? SkipTags(ConfigSnapshot cfg)
    {
        var list = cfg.GetRegex("bombSkipHeaderTagRe");
        if (list.Count == 0 || list.Pattern.Length == 0) return null;
        return cfg.Derived("Checks.bombSkipHeaderTags", c => new Regex("^(?:" + c.GetRegex("bombSkipHeaderTagRe").Pattern + ")$",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, ConfigRegex.DefaultMatchTimeout));
    }

    private static bool Skipped(Regex skip, string name) => Safe(() => skip.IsMatch(name), false);

    private static T Safe<T>(Func<T> run, T fallback)
    {
        try
        {
            return run();
        }
        catch (RegexMatchTimeoutException)
        {
            return fallback;
        }
    }
}
