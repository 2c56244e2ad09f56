using System.Globalization;
using System.Net;
using Assp.Auth.Spf;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Config.Lists;
using Assp.Storage;

namespace Assp.Checks.Checks;

/// <summary>
/// SPF as ASSP configures it, shared by the SPF and DMARC checks: the published records with SPFoverride
/// replacing some and SPFfallback standing in where none is published (bare domains use SPFlocalRecord), and the
/// result cache (SPFCacheInterval days, 0 = off) in the pbdb.spf.db table as ASSP keeps it: key "ip domain",
/// value "time result helo". With enableSPFbackground (and the cache on) a result that only failed on the RFC 7208
/// limit of 10 DNS-querying terms is checked again in the background with wider limits, and that result replaces the
/// cached permerror, so later mail from the sender is judged by what its record really says (ASSP's "SPFbg").
/// </summary>
public sealed class SpfService(CheckServices services)
{
    public const string CacheTable = "pbdb.spf.db";

    /// <summary>Evaluates (or finds in the cache) the SPF result of <paramref name="sender"/> (null or empty: the HELO identity).</summary>
    public async Task<SpfCheckResult?> EvaluateAsync(ConfigSnapshot cfg, IPAddress ip, string? sender, string? helo, Action<string>? log,
        CancellationToken ct)
    {
        if (services.Dns is not { } dns) return null;
        string identity = string.IsNullOrEmpty(sender) ? "postmaster@" + (helo ?? "") : sender;
        string domain = identity[(identity.LastIndexOf('@') + 1)..].TrimEnd('.').ToLowerInvariant();
        if (FindCachedResult(cfg, ip, domain) is { } cached)
        {
            if (cfg.GetChoice("SPFLog") >= 2) log?.Invoke($"SPF: cached result '{cached.ResultText}' for {ip} {domain}");
            return cached;
        }
        var evaluator = new SpfEvaluator(new ConfiguredSpfDns(new DnsResolverSpfDns(dns.Resolver), Rules.For(cfg)),
            new SpfOptions { ReceiverName = cfg["myName"], Clock = services.Time });
        var result = string.IsNullOrEmpty(sender)
            ? await evaluator.CheckHeloAsync(ip, helo ?? "", ct).ConfigureAwait(false)
            : await evaluator.CheckMailFromAsync(ip, sender, helo, ct).ConfigureAwait(false);
        if (cfg.GetBool("DebugSPF")) log?.Invoke($"SPF debug: {identity} from {ip}: {result.ResultText} mechanism={result.Mechanism} problem={result.Problem}");
        if (result.Result != SpfResult.TempError) AddToCache(cfg, ip, domain, result, helo);
        if (HitLookupLimit(result)) _ = StartBackground(cfg, ip, sender, helo, log);   // not awaited: it only fills the cache
        return result;
    }

    /// <summary>The limits of a background check: wider than RFC 7208's, still bounded so a hostile record cannot run forever.</summary>
    public static readonly SpfOptions BackgroundLimits = new() { MaxDnsLookups = 50, MaxVoidLookups = 10, MaxNameLookups = 20 };
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> Running = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Did the evaluation stop only at the limit of DNS-querying terms?</summary>
    public static bool HitLookupLimit(SpfCheckResult result) =>
        result.Result == SpfResult.PermError && result.Problem?.Contains("DNS-querying terms", StringComparison.Ordinal) == true;

    /// <summary>
    /// enableSPFbackground: checks ip/sender/helo in the background with <see cref="BackgroundLimits"/> and puts the result
    /// in the SPF cache. Returns the running check, or null when background checks are off (switch, no cache, no store)
    /// or the same one is already running.
    /// </summary>
    public Task? StartBackground(ConfigSnapshot cfg, IPAddress ip, string? sender, string? helo, Action<string>? log)
    {
        if (!cfg.GetBool("enableSPFbackground") || cfg.GetDecimal("SPFCacheInterval") <= 0 || services.Store is null || services.Dns is not { } dns)
            return null;
        string identity = string.IsNullOrEmpty(sender) ? "postmaster@" + (helo ?? "") : sender;
        string domain = identity[(identity.LastIndexOf('@') + 1)..].TrimEnd('.').ToLowerInvariant();
        var key = ip + " " + domain;
        if (!Running.TryAdd(key, 0)) return null;
        return Task.Run(async () =>
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
                var evaluator = new SpfEvaluator(new ConfiguredSpfDns(new DnsResolverSpfDns(dns.Resolver), Rules.For(cfg)), new SpfOptions
                {
                    ReceiverName = cfg["myName"], Clock = services.Time, MaxDnsLookups = BackgroundLimits.MaxDnsLookups,
                    MaxVoidLookups = BackgroundLimits.MaxVoidLookups, MaxNameLookups = BackgroundLimits.MaxNameLookups,
                });
                var result = string.IsNullOrEmpty(sender)
                    ? await evaluator.CheckHeloAsync(ip, helo ?? "", cts.Token).ConfigureAwait(false)
                    : await evaluator.CheckMailFromAsync(ip, sender, helo, cts.Token).ConfigureAwait(false);
                if (result.Result != SpfResult.TempError) AddToCache(cfg, ip, domain, result, helo);
                log?.Invoke($"SPF background check: {identity} from {ip}: {result.ResultText}{(result.Problem is null ? "" : " (" + result.Problem + ")")}");
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or System.Net.Sockets.SocketException)
            {
                log?.Invoke($"SPF background check of {identity} from {ip} failed: {e.Message}");
            }
            finally
            {
                Running.TryRemove(key, out _);
            }
        });
    }

    /// <summary>The cached SPF result for the IP (or any IP) and domain, if SPFCacheInterval keeps one.</summary>
    internal SpfCheckResult? FindCachedResult(ConfigSnapshot cfg, IPAddress ip, string domain)
    {
        double days = cfg.GetDecimal("SPFCacheInterval");
        if (days <= 0 || services.Store is not { } store) return null;
        var table = store.Table(CacheTable);
        foreach (var key in new[] { "0.0.0.0 " + domain, ip + " " + domain })
        {
            if (!table.TryGetValue(key, out var value)) continue;
            var parts = value.Split(' ');
            if (parts.Length < 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var when)) continue;
            if (services.Time.GetUtcNow().ToUnixTimeSeconds() - when > days * 86400) continue;
            if (!Enum.TryParse<SpfResult>(parts[1], ignoreCase: true, out var result)) continue;
            return new SpfCheckResult(result, domain, Mechanism: "cached");
        }
        return null;
    }

    private void AddToCache(ConfigSnapshot cfg, IPAddress ip, string domain, SpfCheckResult result, string? helo)
    {
        if (cfg.GetDecimal("SPFCacheInterval") <= 0 || services.Store is not { } store) return;
        store.Table(CacheTable).Set(ip + " " + domain,
            $"{services.Time.GetUtcNow().ToUnixTimeSeconds()} {result.ResultText} {helo ?? ""}".ToLowerInvariant().TrimEnd());
    }

    /// <summary>Drops cache entries older than SPFCacheInterval (the maintenance job calls it).</summary>
    public static int CleanCache(ConfigSnapshot cfg, IStore store, TimeProvider clock)
    {
        double days = cfg.GetDecimal("SPFCacheInterval");
        long now = clock.GetUtcNow().ToUnixTimeSeconds();
        return store.Table(CacheTable).RemoveWhere((_, r) =>
        {
            var first = r.Value.Split(' ')[0];
            return days <= 0 || !long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var when) || now - when > days * 86400;
        });
    }

    /// <summary>SPFoverride and SPFfallback compiled: exact domains and "*." wildcards to record texts.</summary>
    internal sealed class Rules
    {
        public static Rules For(ConfigSnapshot cfg) => cfg.Derived("spf-override-rules", c => new Rules(c));

        private readonly List<(string Pattern, string Record)> _override = [];
        private readonly List<(string Pattern, string Record)> _fallback = [];

        private Rules(ConfigSnapshot cfg)
        {
            var local = cfg["SPFlocalRecord"].Trim();
            Fill(_override, cfg.GetListEntries("SPFoverride"), local);
            Fill(_fallback, cfg.GetListEntries("SPFfallback"), local);
        }

        private static void Fill(List<(string, string)> into, IReadOnlyList<ListEntry> entries, string localRecord)
        {
            foreach (var e in entries)
            {
                var text = e.Text.Trim();
                int arrow = text.IndexOf("=>", StringComparison.Ordinal);
                var domain = (arrow < 0 ? text : text[..arrow]).Trim().TrimStart('@').TrimEnd('.').ToLowerInvariant();
                var record = arrow < 0 ? localRecord : text[(arrow + 2)..].Trim();
                if (domain.Length == 0 || !record.StartsWith("v=spf1", StringComparison.OrdinalIgnoreCase)) continue;
                into.Add((domain, record));
            }
        }

        public bool IsEmpty => _override.Count == 0 && _fallback.Count == 0;
        public string? Override(string domain) => Find(_override, domain);
        public string? Fallback(string domain) => Find(_fallback, domain);

        private static string? Find(List<(string Pattern, string Record)> list, string domain)
        {
            var d = domain.TrimEnd('.').ToLowerInvariant();
            foreach (var (pattern, record) in list)
            {
                if (pattern == d) return record;
                // "*.def.com" covers the subdomains of def.com, "*def.com" any name ending so.
                if (pattern.StartsWith('*') && d.EndsWith(pattern[1..], StringComparison.Ordinal) && d.Length > pattern.Length - 1) return record;
            }
            return null;
        }
    }

    /// <summary>The resolver with the configured records put in at the TXT lookups of SPF.</summary>
    internal sealed class ConfiguredSpfDns(ISpfDns inner, Rules rules) : ISpfDns
    {
        public async Task<SpfDnsAnswer<string>> GetTxtAsync(string name, CancellationToken cancellationToken)
        {
            if (rules.IsEmpty) return await inner.GetTxtAsync(name, cancellationToken).ConfigureAwait(false);
            if (rules.Override(name) is { } record) return new SpfDnsAnswer<string>(SpfDnsStatus.Ok, [record]);
            var answer = await inner.GetTxtAsync(name, cancellationToken).ConfigureAwait(false);
            if (answer.IsError || answer.Records.Any(r => r.StartsWith("v=spf1", StringComparison.OrdinalIgnoreCase))) return answer;
            return rules.Fallback(name) is { } fallback ? new SpfDnsAnswer<string>(SpfDnsStatus.Ok, [fallback]) : answer;
        }

        public Task<SpfDnsAnswer<IPAddress>> GetAAsync(string name, CancellationToken cancellationToken) => inner.GetAAsync(name, cancellationToken);
        public Task<SpfDnsAnswer<IPAddress>> GetAaaaAsync(string name, CancellationToken cancellationToken) => inner.GetAaaaAsync(name, cancellationToken);
        public Task<SpfDnsAnswer<string>> GetMxAsync(string name, CancellationToken cancellationToken) => inner.GetMxAsync(name, cancellationToken);
        public Task<SpfDnsAnswer<string>> GetPtrAsync(IPAddress address, CancellationToken cancellationToken) => inner.GetPtrAsync(address, cancellationToken);
    }
}
