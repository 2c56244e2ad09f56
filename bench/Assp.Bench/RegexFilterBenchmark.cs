using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Assp.Checks;
using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Config.Registry;
using Assp.Mime;

namespace Assp.Bench;

/// <summary>
/// `dotnet run -c Release -- regex [--corpus DIR] [--entries N] [--rounds N]`: the content regex checks
/// (DoBombHeaderRe, DoBombRe, DoScriptRe, DoBlackRe, in score mode so every search runs to its end) per message over
/// the SpamAssassin corpus, with a generated N-entry bombRe against a baseline with empty regexes in the same run
/// (both build the decoded texts, so the difference is the regex work); then the worst case: a hostile
/// "(a+)+$" entry among the N, on a message made to make it backtrack, bounded by the match timeout.
/// </summary>
public static class RegexFilterBenchmark
{
    private static readonly IMessageCheck[] ContentChecks = [new BombHeaderCheck(), new BombCheck(), new ScriptCheck(), new BlackReCheck()];

    public static int Run(string[] args)
    {
        var corpus = Arg(args, "--corpus", Environment.GetEnvironmentVariable("ASSP_CORPUS") ?? "/tmp/sa-eml");
        int entries = int.Parse(Arg(args, "--entries", "500"), CultureInfo.InvariantCulture);
        int rounds = int.Parse(Arg(args, "--rounds", "3"), CultureInfo.InvariantCulture);
        var files = Directory.Exists(corpus) ? Directory.GetFiles(corpus, "*.eml", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray() : [];
        if (files.Length == 0)
        {
            Console.Error.WriteLine($"no .eml files under {corpus} (run ../shared/corpus/extract.sh or pass --corpus)");
            return 1;
        }
        var raw = files.Select(f => Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(File.ReadAllBytes(f)).ReplaceLineEndings("\r\n"))).ToArray();
        var dir = Path.Combine(Path.GetTempPath(), "assp-bench-regex-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        try
        {
            var bombs = GenerateBombRe(entries);
            var empty = Config(dir, "");
            var loaded = Config(dir, bombs);
            Console.WriteLine($"Content regex checks: {raw.Length:N0} corpus messages ({raw.Sum(r => r.Length) / 1e6:0.0} MB), bombRe with {loaded.GetWeightedRegex("bombRe").Count} entries");

            Measure(empty, raw.Take(300).ToArray());   // JIT and the compiled regexes warm before the timed runs
            Measure(loaded, raw.Take(300).ToArray());
            Result? baseline = null, measured = null;
            for (int r = 0; r < rounds; r++)
            {
                var b = Measure(empty, raw);
                var m = Measure(loaded, raw);
                if (baseline is null || b.MeanMicros < baseline.MeanMicros) baseline = b;
                if (measured is null || m.MeanMicros < measured.MeanMicros) measured = m;
            }
            Console.WriteLine();
            Console.WriteLine($"{"",-36}{"mean µs",10}{"p50 µs",10}{"p99 µs",10}{"max µs",12}{"hits",8}");
            Print("baseline: empty regexes", baseline!);
            Print($"bombRe, {entries} entries", measured!);
            Console.WriteLine($"regex work per message: {measured!.MeanMicros - baseline!.MeanMicros:0.0} µs; messages with a bombRe hit: {measured.Hits:N0}");

            // The worst case: one hostile entry among the others, fed what makes a backtracking engine go exponential.
            // Plain (a+)+$ runs on the linear-time engine; with a lookahead it needs the backtracking one and is
            // stopped by the match timeout.
            var evil = Encoding.ASCII.GetBytes("From: x@y.example\r\nSubject: hi\r\n\r\n" + new string('a', 64) + "!\r\n");
            foreach (var pattern in new[] { "(a+)+$", "(?=a)(a+)+$" })
            {
                var hostile = Config(dir, bombs + "\n" + pattern);
                Measure(hostile, [evil]);
                var worst = Measure(hostile, [evil]);
                Console.WriteLine($"hostile {pattern} among {entries} entries: {worst.MaxMicros / 1000:0.0} ms for the message " +
                    $"(match timeout {Assp.Config.Regexes.ConfigRegex.DefaultMatchTimeout.TotalMilliseconds:0} ms, maxBombSearchTime {hostile.GetInt("maxBombSearchTime")} s)");
            }
            return 0;
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private static void Print(string name, Result r) =>
        Console.WriteLine($"{name,-36}{r.MeanMicros,10:0.0}{r.P50,10:0.0}{r.P99,10:0.0}{r.MaxMicros,12:0}{r.Hits,8:N0}");

    private static ConfigSnapshot Config(string dir, string bombRe)
    {
        // Every regex option empty except bombRe; score mode so a hit never ends the searches early.
        string[] regexOptions = ["bombRe", "bombHeaderRe", "bombSubjectRe", "bombSenderRe", "bombCharSets", "bombDataRe", "bombSuspiciousRe",
            "blackRe", "scriptRe", "testRe", "preHeaderRe", "bombSkipHeaderTagRe"];
        var overrides = regexOptions.Select(o => new KeyValuePair<string, string>(o, ""))
            .Concat([new("DoBombRe", "3"), new("DoBombHeaderRe", "3"), new("DoScriptRe", "3"), new("DoBlackRe", "3"), new("DoPenalty", "0")])
            .ToList();
        if (bombRe.Length > 0)
        {
            var file = Path.Combine(dir, "files", $"bombre-{Guid.NewGuid():N}.txt");
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, bombRe);
            overrides.RemoveAll(o => o.Key == "bombRe");
            overrides.Add(new("bombRe", "file:files/" + Path.GetFileName(file)));
        }
        var cfg = new ConfigLoader(OptionRegistry.Default) { ExportGroups = false, AllowExec = false }.Load(new ConfigSource(dir, Overrides: overrides));
        var errors = cfg.Issues.Where(i => i.Severity == IssueSeverity.Error).ToList();
        if (errors.Count > 0) throw new InvalidOperationException(string.Join("; ", errors));
        return cfg;
    }

    /// <summary>
    /// A bombRe as admins write them: common spam words and phrases with weights, ~…~ groups, phrases with
    /// flexible spacing and character classes, and many that rarely match.
    /// </summary>
    public static string GenerateBombRe(int count)
    {
        string[] words = ["viagra", "cialis", "casino", "lottery", "winner", "mortgage", "refinance", "credit", "debt", "loan", "pharmacy",
            "prescription", "weight loss", "diet", "replica", "rolex", "investment", "stock alert", "penny stock", "bitcoin", "inheritance",
            "beneficiary", "unclaimed", "wire transfer", "western union", "act now", "limited time", "click here", "unsubscribe", "opt out",
            "free gift", "100% free", "no cost", "risk free", "guarantee", "cash bonus", "earn money", "work from home", "make money",
            "dear friend", "congratulations", "you have been selected", "urgent reply", "confidential", "million dollars", "bank account",
            "verify your account", "password expired", "enlargement", "adult", "hot singles", "dating", "cheap meds", "discount", "offer expires"];
        var rnd = new Random(7);
        var sb = new StringBuilder("# generated bombRe for the benchmark\n");
        for (int i = 0; i < count; i++)
        {
            string line = (i % 5) switch
            {
                0 => $"{Spaced(words[i % words.Length])}=>{Weight(rnd)}",
                1 => $"~{Spaced(words[rnd.Next(words.Length)])}|{Spaced(words[rnd.Next(words.Length)])}~=>{Weight(rnd)}",
                2 => $@"{Spaced(words[rnd.Next(words.Length)])}\W+{Spaced(words[rnd.Next(words.Length)])}=>{Weight(rnd)}",
                3 => $@"\b(?:spam|bulk|promo)[-_]?code[-_ ]?{i}\b=>{rnd.Next(10, 60)}",
                _ => $@"https?://[^/\s]*{Token(rnd)}\d*\.(?:ru|cn|top|xyz)=>{Weight(rnd)}",
            };
            sb.Append(line).Append('\n');
        }
        return sb.ToString();

        static string Spaced(string phrase) => phrase.Replace(" ", @"\s+", StringComparison.Ordinal).Replace("%", "%", StringComparison.Ordinal);
        static string Weight(Random r) => (r.Next(1, 13) / 2.0).ToString("0.0", CultureInfo.InvariantCulture);
        static string Token(Random r) => new([.. Enumerable.Range(0, 5).Select(_ => (char)('a' + r.Next(26)))]);
    }

    private sealed record Result(double MeanMicros, double P50, double P99, double MaxMicros, int Hits);

    private static Result Measure(ConfigSnapshot cfg, byte[][] messages)
    {
        var times = new double[messages.Length];
        int hits = 0;
        for (int i = 0; i < messages.Length; i++)
        {
            // Parsing is the MIME parser's cost (benchmarked on its own); timed here is what the content checks do.
            var ctx = new Context(cfg);
            var st = ctx.CheckState.NewMessage();
            st.Parsed = MimeParser.Parse(messages[i]);
            st.OriginalSubject = st.Parsed.Subject;
            var context = new CheckContext(ctx, Engine, CheckServices.None);
            long start = Stopwatch.GetTimestamp();
            foreach (var check in ContentChecks) check.RunAsync(context, default).AsTask().GetAwaiter().GetResult();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            if (st.Reports.Any(r => r.Reason.StartsWith("bombRe", StringComparison.Ordinal))) hits++;
        }
        var sorted = times.Order().ToArray();
        return new Result(times.Average(), sorted[sorted.Length / 2], sorted[(int)(sorted.Length * 0.99)], sorted[^1], hits);
    }

    private static readonly DecisionEngine Engine = new(new NoReputation(), new NoReputation());

    private static string Arg(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    private sealed class NoReputation : IIpReputation, IAddressReputation
    {
        public void AddBlack(ConfigSnapshot cfg, IPAddress a, double score, string reason) { }
        public double? BlackTotal(ConfigSnapshot cfg, IPAddress a) => null;
        public bool IsWhite(ConfigSnapshot cfg, IPAddress a) => false;
        public void AddWhite(ConfigSnapshot cfg, IPAddress a, string reason) { }
        public void DeleteBlack(ConfigSnapshot cfg, IPAddress a) { }
        public void DeleteWhite(ConfigSnapshot cfg, IPAddress a) { }
        public bool IsWhitelisted(ConfigSnapshot cfg, string sender, string? recipient) => false;
        public bool IsRedlisted(ConfigSnapshot cfg, string address) => false;
        public bool IsPersonallyBlocked(ConfigSnapshot cfg, string recipient, string sender) => false;
        public IReadOnlyList<string> LearnFromOutgoing(ConfigSnapshot cfg, OutgoingMail mail) => [];
        public void Touch(ConfigSnapshot cfg, string sender, string? recipient) { }
    }

    private sealed class Context(ConfigSnapshot cfg) : IMailContext
    {
        public ConfigSnapshot Config => cfg;
        public string SessionId => "bench";
        public IPAddress RemoteAddress { get; } = IPAddress.Parse("203.0.113.9");
        public IPAddress LocalAddress => IPAddress.Loopback;
        public int LocalPort => 25;
        public ConnectionClass Class => ConnectionClass.External;
        public bool IsAuthenticated => false;
        public bool IsTls => false;
        public string? Helo => "mx.sender.example";
        public string? MailFrom => "sender@sender.example";
        public IReadOnlyList<string> Recipients { get; } = ["u@local.example"];
        public bool IsOutgoing => false;
        public Stream? OpenMessage() => null;
        public long MessageSize => 0;
        public CheckSession CheckState { get; } = new();
        public bool Delivered => false;
        public void Log(string line) { }
    }
}
