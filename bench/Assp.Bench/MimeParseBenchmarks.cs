using System.Diagnostics;
using Assp.Mime;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;

namespace Assp.Bench;

/// <summary>
/// MIME parsing over the SpamAssassin corpus ($ASSP_CORPUS or /tmp/sa-eml; export it with shared/corpus/extract.sh).
/// Run: dotnet run -c Release --project bench/Assp.Bench -- --filter '*MimeParse*'
/// Each invocation processes the whole sample; the MB/s and msg/s columns are derived from the mean time.
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class MimeParseBenchmarks
{
    private static byte[][] _messages = [];
    private static long _totalBytes;

    /// <summary>Every n-th corpus message (1 = all).</summary>
    [Params(1)]
    public int Stride { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var dir = Environment.GetEnvironmentVariable("ASSP_CORPUS");
        if (string.IsNullOrEmpty(dir)) dir = "/tmp/sa-eml";
        if (!Directory.Exists(dir)) throw new InvalidOperationException($"corpus not found at {dir}; run shared/corpus/extract.sh {dir}");
        var files = Directory.EnumerateFiles(dir, "*.eml", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        _messages = files.Where((_, i) => i % Stride == 0).Select(File.ReadAllBytes).ToArray();
        _totalBytes = _messages.Sum(m => (long)m.Length);
        Console.WriteLine($"// MimeParse sample: {_messages.Length} messages, {_totalBytes / 1048576.0:F1} MB");
    }

    /// <summary>Parse to the entity tree (headers split, content types parsed, boundaries found).</summary>
    [Benchmark(Baseline = true)]
    public int ParseToTree()
    {
        int entities = 0;
        foreach (var m in _messages) entities += MimeParser.Parse(m).Root.Children.Count + 1;
        return entities;
    }

    /// <summary>Parse and decode every text part to a string (transfer decoding + charset conversion).</summary>
    [Benchmark]
    public long ParseAndExtractText()
    {
        long chars = 0;
        foreach (var m in _messages)
        {
            var msg = MimeParser.Parse(m);
            chars += msg.Subject?.Length ?? 0;
            foreach (var part in msg.TextParts) chars += part.GetText()?.Length ?? 0;
        }
        return chars;
    }

    private sealed class ThroughputConfig : ManualConfig
    {
        public ThroughputConfig()
        {
            AddColumn(new ThroughputColumn("MB/s", (mean) => _totalBytes / 1048576.0 / (mean / 1e9)));
            AddColumn(new ThroughputColumn("msg/s", (mean) => _messages.Length / (mean / 1e9)));
        }
    }

    private sealed class ThroughputColumn(string name, Func<double, double> fromMeanNs) : IColumn
    {
        public string Id => "Mime" + name;
        public string ColumnName => name;
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => $"{name} over the corpus sample, from the mean";
        public bool IsDefault(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase) => false;
        public bool IsAvailable(Summary summary) => true;

        public string GetValue(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase)
        {
            var report = summary[benchmarkCase];
            if (report?.ResultStatistics is null) return "-";
            if (_messages.Length == 0) new MimeParseBenchmarks { Stride = 1 }.Setup();
            return fromMeanNs(report.ResultStatistics.Mean).ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
        }

        public string GetValue(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
    }

    /// <summary>A quick single-threaded measurement without BenchmarkDotNet (for tests and smoke runs).</summary>
    public static (double MBps, double MsgPerSec) Quick(int rounds = 3)
    {
        var b = new MimeParseBenchmarks { Stride = 1 };
        b.Setup();
        b.ParseToTree();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < rounds; i++) b.ParseToTree();
        sw.Stop();
        double s = sw.Elapsed.TotalSeconds / rounds;
        return (_totalBytes / 1048576.0 / s, _messages.Length / s);
    }
}
