using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Assp.Auth.Spf;

/// <summary>
/// check_host() of RFC 7208 over an <see cref="ISpfDns"/>. Thread-safe: each check keeps its own counters.
/// </summary>
public sealed class SpfEvaluator(ISpfDns dns, SpfOptions? options = null)
{
    private readonly SpfOptions _options = options ?? new SpfOptions();
    private readonly ISpfDns _dns = dns;

    public SpfOptions Options => _options;

    /// <summary>The MAIL FROM identity (2.4); a null sender is checked as postmaster@HELO.</summary>
    public Task<SpfCheckResult> CheckMailFromAsync(IPAddress ip, string? mailFrom, string? helo, CancellationToken cancellationToken = default)
    {
        string sender = string.IsNullOrEmpty(mailFrom) ? "postmaster@" + (helo ?? "") : mailFrom;
        int at = sender.LastIndexOf('@');
        string domain = at < 0 ? sender : sender[(at + 1)..];
        if (at < 0) sender = "postmaster@" + sender;
        return CheckHostAsync(ip, domain, sender, helo, cancellationToken);
    }

    /// <summary>The HELO identity (2.3): the sender is postmaster@HELO.</summary>
    public Task<SpfCheckResult> CheckHeloAsync(IPAddress ip, string helo, CancellationToken cancellationToken = default) =>
        CheckHostAsync(ip, helo, "postmaster@" + helo, helo, cancellationToken);

    /// <summary>check_host(ip, domain, sender) of section 4; <paramref name="helo"/> feeds %{h}.</summary>
    public async Task<SpfCheckResult> CheckHostAsync(IPAddress ip, string domain, string sender, string? helo, CancellationToken cancellationToken = default)
    {
        var run = new Run(this, SpfAddress.Normalize(ip), sender, helo ?? "", cancellationToken);
        string d = TrimDot(domain);
        try
        {
            var r = await run.CheckHostAsync(d, inInclude: false).ConfigureAwait(false);
            return new SpfCheckResult(r.Result, d, r.Explanation, r.Mechanism, r.Problem);
        }
        catch (SpfAbort e)
        {
            return new SpfCheckResult(e.Result, d, Problem: e.Message);
        }
    }

    internal static string TrimDot(string name) => name.EndsWith('.') ? name[..^1] : name;

    /// <summary>The checks of 4.3: a multi-label name, no empty label, no label over 63 octets, not a literal.</summary>
    internal static bool IsValidDomain(string domain)
    {
        if (domain.Length == 0 || domain.Length > 253 || domain.StartsWith('[')) return false;
        var labels = domain.Split('.');
        if (labels.Length < 2) return false;
        foreach (var l in labels)
            if (l.Length == 0 || l.Length > 63) return false;
        return true;
    }

    private readonly record struct HostResult(SpfResult Result, string? Explanation, string? Mechanism, string? Problem);

    /// <summary>The state of one check: the inputs and the shared lookup counters (4.6.4 counts across include and redirect).</summary>
    private sealed class Run(SpfEvaluator owner, IPAddress ip, string sender, string helo, CancellationToken ct)
    {
        private readonly ISpfDns _dns = owner._dns;
        private readonly SpfOptions _opt = owner._options;
        private int _lookups, _voids;
        private string? _validatedName;
        private readonly bool _v4 = ip.AddressFamily == AddressFamily.InterNetwork;
        private readonly string _local = LocalPart(sender);
        private readonly string _senderDomain = sender[(sender.LastIndexOf('@') + 1)..];

        private static string LocalPart(string sender)
        {
            int at = sender.LastIndexOf('@');
            // 4.3: a sender without local-part is checked as "postmaster".
            return at <= 0 ? "postmaster" : sender[..at];
        }

        public async Task<HostResult> CheckHostAsync(string domain, bool inInclude)
        {
            if (!IsValidDomain(domain)) return new HostResult(SpfResult.None, null, null, $"'{domain}' is not a valid domain name");
            var txt = await _dns.GetTxtAsync(domain, ct).ConfigureAwait(false);
            if (txt.IsError) throw new SpfAbort(SpfResult.TempError, $"DNS error looking up TXT of {domain}");
            var records = txt.Records.Where(SpfRecord.IsSpfRecord).ToList();
            if (records.Count == 0) return new HostResult(SpfResult.None, null, null, $"{domain} has no SPF record");
            if (records.Count > 1) throw new SpfAbort(SpfResult.PermError, $"{domain} has more than one SPF record");

            SpfRecord record;
            try
            {
                record = SpfRecord.Parse(records[0]);
            }
            catch (FormatException e)
            {
                throw new SpfAbort(SpfResult.PermError, $"SPF record of {domain}: {e.Message}");
            }

            foreach (var m in record.Mechanisms)
            {
                if (!await MatchesAsync(m, domain).ConfigureAwait(false)) continue;
                var result = m.Qualifier switch
                {
                    SpfQualifier.Pass => SpfResult.Pass,
                    SpfQualifier.Fail => SpfResult.Fail,
                    SpfQualifier.SoftFail => SpfResult.SoftFail,
                    _ => SpfResult.Neutral,
                };
                // An included record's exp= never shows (6.2); the includer decides what the sender sees.
                string? exp = result == SpfResult.Fail && !inInclude ? await ExplainAsync(record.Exp, domain).ConfigureAwait(false) : null;
                return new HostResult(result, exp, m.Text, null);
            }

            if (record.Redirect is { } redirect)
            {
                CountLookup();
                string target = await ExpandDomainAsync(redirect, domain).ConfigureAwait(false);
                var r = await CheckHostAsync(target, inInclude).ConfigureAwait(false);
                if (r.Result == SpfResult.None)
                    throw new SpfAbort(SpfResult.PermError, $"redirect={target} leads to no SPF record");
                // The redirected record's own exp= (or the default) stands; ours is dropped (6.2).
                return r with { Mechanism = r.Mechanism ?? "redirect=" + target };
            }
            return new HostResult(SpfResult.Neutral, null, null, null);
        }

        private async Task<bool> MatchesAsync(SpfMechanism m, string domain)
        {
            switch (m.Kind)
            {
                case SpfMechanismKind.All:
                    return true;
                case SpfMechanismKind.Ip4 or SpfMechanismKind.Ip6:
                    return SpfAddress.InNetwork(ip, m.Network!, m.Kind == SpfMechanismKind.Ip4 ? m.Cidr4 : m.Cidr6);
                case SpfMechanismKind.Include:
                {
                    CountLookup();
                    var r = await CheckHostAsync(await ExpandDomainAsync(m.DomainSpec!, domain).ConfigureAwait(false), inInclude: true).ConfigureAwait(false);
                    return r.Result switch
                    {
                        SpfResult.Pass => true,
                        SpfResult.None => throw new SpfAbort(SpfResult.PermError, $"{m.Text}: the included domain has no SPF record"),
                        _ => false,
                    };
                }
                case SpfMechanismKind.A:
                {
                    CountLookup();
                    string target = m.DomainSpec is null ? domain : await ExpandDomainAsync(m.DomainSpec, domain).ConfigureAwait(false);
                    var addrs = await AddressesAsync(target, countVoid: true).ConfigureAwait(false);
                    return addrs.Any(a => SpfAddress.InNetwork(ip, a, _v4 ? m.Cidr4 : m.Cidr6));
                }
                case SpfMechanismKind.Mx:
                {
                    CountLookup();
                    string target = m.DomainSpec is null ? domain : await ExpandDomainAsync(m.DomainSpec, domain).ConfigureAwait(false);
                    var mx = await _dns.GetMxAsync(target, ct).ConfigureAwait(false);
                    if (mx.IsError) throw new SpfAbort(SpfResult.TempError, $"DNS error looking up MX of {target}");
                    if (mx.IsVoid)
                    {
                        CountVoid();
                        return false;
                    }
                    if (mx.Records.Count > _opt.MaxNameLookups)
                        throw new SpfAbort(SpfResult.PermError, $"{m.Text}: {target} has more than {_opt.MaxNameLookups} MX records");
                    foreach (var host in mx.Records)
                    {
                        var addrs = await AddressesAsync(TrimDot(host), countVoid: false).ConfigureAwait(false);
                        if (addrs.Any(a => SpfAddress.InNetwork(ip, a, _v4 ? m.Cidr4 : m.Cidr6))) return true;
                    }
                    return false;
                }
                case SpfMechanismKind.Ptr:
                {
                    CountLookup();
                    string target = m.DomainSpec is null ? domain : await ExpandDomainAsync(m.DomainSpec, domain).ConfigureAwait(false);
                    foreach (var name in await ValidatedNamesAsync(target).ConfigureAwait(false))
                        if (IsAtOrBelow(name, target)) return true;
                    return false;
                }
                case SpfMechanismKind.Exists:
                {
                    CountLookup();
                    string target = await ExpandDomainAsync(m.DomainSpec!, domain).ConfigureAwait(false);
                    // exists always asks for A, whatever the client's address family (5.7).
                    var a = await _dns.GetAAsync(target, ct).ConfigureAwait(false);
                    if (a.IsError) throw new SpfAbort(SpfResult.TempError, $"DNS error looking up A of {target}");
                    if (a.IsVoid)
                    {
                        CountVoid();
                        return false;
                    }
                    return true;
                }
                default:
                    return false;
            }
        }

        /// <summary>A or AAAA of a name, by the client's family; a DNS error is temperror.</summary>
        private async Task<IReadOnlyList<IPAddress>> AddressesAsync(string name, bool countVoid)
        {
            var r = _v4 ? await _dns.GetAAsync(name, ct).ConfigureAwait(false) : await _dns.GetAaaaAsync(name, ct).ConfigureAwait(false);
            if (r.IsError) throw new SpfAbort(SpfResult.TempError, $"DNS error looking up addresses of {name}");
            if (r.IsVoid)
            {
                if (countVoid) CountVoid();
                return [];
            }
            return r.Records;
        }

        /// <summary>
        /// The PTR names of the client that resolve back to it (5.5), at most the configured number of names, those
        /// at or below <paramref name="preferBelow"/> checked first. DNS errors only drop names, never fail the check.
        /// </summary>
        private async Task<List<string>> ValidatedNamesAsync(string preferBelow)
        {
            var ptr = await _dns.GetPtrAsync(ip, ct).ConfigureAwait(false);
            var result = new List<string>();
            if (ptr.Status != SpfDnsStatus.Ok) return result;
            var names = ptr.Records.Take(_opt.MaxNameLookups).Select(TrimDot)
                .OrderBy(n => IsAtOrBelow(n, preferBelow) ? 0 : 1).ToList();
            foreach (var name in names)
            {
                var r = _v4 ? await _dns.GetAAsync(name, ct).ConfigureAwait(false) : await _dns.GetAaaaAsync(name, ct).ConfigureAwait(false);
                if (r.Status == SpfDnsStatus.Ok && r.Records.Any(a => a.Equals(ip))) result.Add(name);
            }
            return result;
        }

        private static bool IsAtOrBelow(string name, string domain) =>
            name.Equals(domain, StringComparison.OrdinalIgnoreCase)
            || name.EndsWith("." + domain, StringComparison.OrdinalIgnoreCase);

        private void CountLookup()
        {
            if (++_lookups > _opt.MaxDnsLookups)
                throw new SpfAbort(SpfResult.PermError, $"more than {_opt.MaxDnsLookups} DNS-querying terms");
        }

        private void CountVoid()
        {
            if (++_voids > _opt.MaxVoidLookups)
                throw new SpfAbort(SpfResult.PermError, $"more than {_opt.MaxVoidLookups} void DNS lookups");
        }

        /// <summary>Expands a domain-spec and cuts labels off the left until it fits in 253 octets (7.3).</summary>
        private async Task<string> ExpandDomainAsync(string spec, string domain)
        {
            if (spec.Contains("{p", StringComparison.OrdinalIgnoreCase)) await EnsureValidatedNameAsync(domain).ConfigureAwait(false);
            string name = TrimDot(SpfMacro.Expand(spec, explanation: false, c => MacroValue(c, domain)));
            while (name.Length > 253)
            {
                int dot = name.IndexOf('.');
                name = dot < 0 ? "" : name[(dot + 1)..];
            }
            return name;
        }

        /// <summary>The explanation of a fail (6.2): exp= text when it works out, the default otherwise.</summary>
        private async Task<string> ExplainAsync(string? exp, string domain)
        {
            if (exp is not null)
            {
                try
                {
                    string target = await ExpandDomainAsync(exp, domain).ConfigureAwait(false);
                    var txt = await _dns.GetTxtAsync(target, ct).ConfigureAwait(false);
                    if (txt.Status == SpfDnsStatus.Ok && txt.Records.Count == 1 && txt.Records[0].All(c => c >= 0x20 && c <= 0x7E))
                        return await ExpandExplanationAsync(txt.Records[0], domain).ConfigureAwait(false);
                }
                catch (SpfAbort)
                {
                    // A broken exp= only loses the explanation, never the fail (6.2).
                }
            }
            try
            {
                return await ExpandExplanationAsync(_opt.DefaultExplanation, domain).ConfigureAwait(false);
            }
            catch (SpfAbort)
            {
                return _opt.DefaultExplanation;
            }
        }

        private async Task<string> ExpandExplanationAsync(string text, string domain)
        {
            // %{p} needs DNS; resolve it up front only when the text asks for it.
            if (text.Contains("{p", StringComparison.OrdinalIgnoreCase)) await EnsureValidatedNameAsync(domain).ConfigureAwait(false);
            return SpfMacro.Expand(text, explanation: true, c => MacroValue(c, domain));
        }

        private async Task EnsureValidatedNameAsync(string domain)
        {
            if (_validatedName is not null) return;
            var names = await ValidatedNamesAsync(domain).ConfigureAwait(false);
            // 7.3: prefer the domain itself, then a name below it, then any validated name.
            _validatedName = names.FirstOrDefault(n => n.Equals(domain, StringComparison.OrdinalIgnoreCase))
                ?? names.FirstOrDefault(n => IsAtOrBelow(n, domain))
                ?? names.FirstOrDefault()
                ?? "unknown";
        }

        private string MacroValue(char letter, string domain) => letter switch
        {
            's' => sender,
            'l' => _local,
            'o' => _senderDomain,
            'd' => domain,
            'i' => _v4 ? ip.ToString() : Nibbles(ip),
            'p' => _validatedName ?? "unknown",
            'v' => _v4 ? "in-addr" : "ip6",
            'h' => helo,
            'c' => ip.ToString(),
            'r' => _opt.ReceiverName,
            't' => _opt.Clock.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            _ => "",
        };

        private static string Nibbles(IPAddress v6)
        {
            var sb = new StringBuilder(63);
            foreach (byte b in v6.GetAddressBytes())
            {
                if (sb.Length > 0) sb.Append('.');
                sb.Append("0123456789abcdef"[b >> 4]).Append('.').Append("0123456789abcdef"[b & 0xF]);
            }
            return sb.ToString();
        }
    }
}
