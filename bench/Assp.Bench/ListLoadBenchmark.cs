using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Assp.Config;
using Assp.Config.Lists;

namespace Assp.Bench;

/// <summary>
/// Loads a 100,000-entry IP list and a 100,000-entry address list and matches against them. As a baseline
/// in the same run it measures the way ASSP itself matches such lists (one big alternation regex, here the
/// .NET equivalent), so the figures are ratios on this machine, not absolute promises.
/// </summary>
internal static class ListLoadBenchmark
{
    public static int Run(string[] args)
    {
        int size = args.Length > 0 ? int.Parse(args[0]) : 100_000;
        int probes = 200_000;
        Console.WriteLine($"List benchmark: {size:N0} entries per list, {probes:N0} probes, {Environment.ProcessorCount} cores");

        var ipEntries = ListData.IpEntries(size);
        var addrEntries = ListData.AddressEntries(size);
        var ipProbes = ListData.IpProbes(probes);
        var addrProbes = ListData.AddressProbes(probes);
        var timeout = TimeSpan.FromSeconds(5);

        var (ipList, ipLoad) = Time(() => IpList.Compile(ipEntries, "bench", [], timeout), 3);
        var (addrList, addrLoad) = Time(() => AddressList.Compile(addrEntries, "bench", [], timeout), 3);
        var (ipHits, ipMatch) = Time(() => ipProbes.Count(p => ipList.Contains(p)), 5);
        var (addrHits, addrMatch) = Time(() => addrProbes.Count(p => addrList.Contains(p)), 5);

        // Baseline: ASSP's approach, one anchored alternation over all addresses, run by the regex engine.
        var sample = addrEntries.Take(Math.Min(size, 20_000)).ToList();
        var baselineRegex = new Regex("^(?:" + string.Join('|', sample.Select(e => Regex.Escape(e.Text).Replace("@", "@"))) + ")$",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        var baseProbes = addrProbes.Take(20_000).ToArray();
        var (_, baseMatch) = Time(() => baseProbes.Count(p => baselineRegex.IsMatch(p)), 3);
        var sampleList = AddressList.Compile(sample, "bench", [], timeout);
        var (_, sampleMatch) = Time(() => baseProbes.Count(p => sampleList.Contains(p)), 3);

        Console.WriteLine();
        Console.WriteLine($"{"what",-44} {"time",12} {"rate",18}");
        Row($"load IP list ({size:N0} entries)", ipLoad, size, "entries/s");
        Row($"load address list ({size:N0} entries)", addrLoad, size, "entries/s");
        Row($"match IP ({ipHits:N0} of {probes:N0} hit)", ipMatch, probes, "matches/s");
        Row($"match address ({addrHits:N0} of {probes:N0} hit)", addrMatch, probes, "matches/s");
        Row($"baseline: one alternation regex, {sample.Count:N0} addr", baseMatch, baseProbes.Length, "matches/s");
        Row($"AddressList, same {sample.Count:N0} addr", sampleMatch, baseProbes.Length, "matches/s");
        Console.WriteLine();
        Console.WriteLine($"per IP match:      {ipMatch.TotalNanoseconds / probes:F0} ns");
        Console.WriteLine($"per address match: {addrMatch.TotalNanoseconds / probes:F0} ns");
        Console.WriteLine($"AddressList vs alternation regex (same entries, same probes): {baseMatch / sampleMatch:F1}x faster");
        return 0;
    }

    private static void Row(string what, TimeSpan time, int count, string unit) =>
        Console.WriteLine($"{what,-44} {time.TotalMilliseconds,9:F1} ms {count / time.TotalSeconds,14:N0} {unit}");

    /// <summary>Best of n runs (after one warm-up): the machine is shared and noisy, the minimum is the fair figure.</summary>
    private static (T Result, TimeSpan Best) Time<T>(Func<T> work, int runs)
    {
        T result = work();
        var best = TimeSpan.MaxValue;
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            result = work();
            sw.Stop();
            if (sw.Elapsed < best) best = sw.Elapsed;
        }
        return (result, best);
    }
}
