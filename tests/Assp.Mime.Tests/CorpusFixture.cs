using System.Diagnostics;

namespace Assp.Mime.Tests;

/// <summary>Finds (or exports) the SpamAssassin public corpus: $ASSP_CORPUS, /tmp/sa-eml, or extract.sh.</summary>
public static class Corpus
{
    private static readonly Lazy<string?> Dir = new(Locate);

    /// <summary>The corpus folder (with ham/ and spam/), or null when it cannot be found or exported.</summary>
    public static string? Directory => Dir.Value;

    /// <summary>All .eml files, sorted.</summary>
    public static IReadOnlyList<string> Files()
    {
        var d = Directory ?? throw new InvalidOperationException("corpus not available");
        return System.IO.Directory.EnumerateFiles(d, "*.eml", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Reads one corpus file by its relative name ("spam/spam-00001....eml").</summary>
    public static byte[] Read(string relative) => File.ReadAllBytes(Path.Combine(Directory!, relative));

    private static string? Locate()
    {
        var env = Environment.GetEnvironmentVariable("ASSP_CORPUS");
        if (!string.IsNullOrEmpty(env) && HasEml(env)) return env;
        const string tmp = "/tmp/sa-eml";
        if (HasEml(tmp)) return tmp;
        var target = string.IsNullOrEmpty(env) ? tmp : env;
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Assp.slnx"))) dir = dir.Parent;
        if (dir is null) return null;
        var script = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "corpus", "extract.sh"));
        if (!File.Exists(script)) return null;
        var psi = new ProcessStartInfo("bash", [script, target]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit(TimeSpan.FromMinutes(20));
        return HasEml(target) ? target : null;
    }

    private static bool HasEml(string dir) =>
        System.IO.Directory.Exists(Path.Combine(dir, "ham")) && System.IO.Directory.EnumerateFiles(dir, "*.eml", SearchOption.AllDirectories).Any();
}
