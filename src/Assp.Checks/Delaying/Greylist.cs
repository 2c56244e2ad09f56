using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Delaying;

/// <summary>What greylisting decided for one recipient.</summary>
public enum DelayOutcome
{
    /// <summary>First sight of the triplet: refused for now.</summary>
    NewTriplet,
    /// <summary>Retried before the embargo ended: refused again.</summary>
    Embargoed,
    /// <summary>Retried after the embargo and within DelayWaitTime: accepted, the (IP, sender domain) tuple is safelisted.</summary>
    Accepted,
    /// <summary>Retried too late: counted as a new first try.</summary>
    Late,
    /// <summary>The tuple is safelisted: accepted and renewed.</summary>
    Safelisted,
    /// <summary>The safelisted tuple had expired: deleted, and the triplet starts over.</summary>
    Expired,
}

public readonly record struct DelayResult(DelayOutcome Outcome, string Triplet, TimeSpan Waited)
{
    public bool Accepted => Outcome is DelayOutcome.Accepted or DelayOutcome.Safelisted;
}

/// <summary>
/// ASSP's greylisting ("Delaying"): a triplet of client IP (or its /24, /64 with DelayUseNetblocks), sender and
/// recipient is refused until DelayEmbargoTime minutes after its first try; a retry within DelayWaitTime hours after
/// that is accepted and safelists the tuple of IP and sender domain for DelayExpiryTime days. Stored in delaydb
/// (triplets) and delaydb.white (tuples) with ASSP's keys (MD5 hex with DelayMD5) and Unix times as values.
/// </summary>
public sealed partial class Greylist(IStore store)
{
    private readonly IStoreTable _triplets = store.Table(StoreTables.DelayDb);
    private readonly IStoreTable _tuples = store.Table(StoreTables.DelayDbWhite);
    private readonly TimeProvider _clock = store.Clock;

    public DateTimeOffset Now => _clock.GetUtcNow();
    private long NowSeconds => _clock.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>Decides for one recipient of a message from this IP and sender (the exemptions are the caller's).</summary>
    public DelayResult Check(ConfigSnapshot cfg, IPAddress ip, string mailFrom, string recipient)
    {
        var (tripletKey, hostKey, tupleKey, shown) = Keys(cfg, ip, mailFrom, recipient);
        long now = NowSeconds;
        if (_tuples.TryGetValue(tupleKey, out var tupleTime) && long.TryParse(tupleTime, out var safelisted))
        {
            long age = now - safelisted;
            if (age < cfg.GetDecimal("DelayExpiryTime") * 24 * 3600)
            {
                _tuples.Set(tupleKey, now.ToString(CultureInfo.InvariantCulture));
                _triplets.Remove(tripletKey);
                _triplets.Remove(hostKey);
                return new(DelayOutcome.Safelisted, shown, TimeSpan.FromSeconds(age));
            }
            _tuples.Remove(tupleKey);
            _triplets.Set(hostKey, now.ToString(CultureInfo.InvariantCulture));
            return new(DelayOutcome.Expired, shown, TimeSpan.FromSeconds(age));
        }
        bool known = _triplets.TryGetValue(hostKey, out var firstText) | _triplets.ContainsKey(tripletKey);
        if (!known || !long.TryParse(firstText, out var first))
        {
            _triplets.Set(hostKey, now.ToString(CultureInfo.InvariantCulture));
            return new(DelayOutcome.NewTriplet, shown, TimeSpan.Zero);
        }
        long waited = now - first;
        double embargo = cfg.GetDecimal("DelayEmbargoTime") * 60;
        if (waited < embargo) return new(DelayOutcome.Embargoed, shown, TimeSpan.FromSeconds(waited));
        if (waited < embargo + cfg.GetDecimal("DelayWaitTime") * 3600)
        {
            _triplets.Remove(tripletKey);
            _triplets.Remove(hostKey);
            _tuples.Set(tupleKey, now.ToString(CultureInfo.InvariantCulture));
            return new(DelayOutcome.Accepted, shown, TimeSpan.FromSeconds(waited));
        }
        _triplets.Set(hostKey, now.ToString(CultureInfo.InvariantCulture));
        return new(DelayOutcome.Late, shown, TimeSpan.FromSeconds(waited));
    }

    /// <summary>Safelists the tuple of this IP (or its network) and the sender's domain now (the GUI's "add tuplet"); returns the key.</summary>
    public string SafelistTuple(ConfigSnapshot cfg, IPAddress ip, string mailFrom)
    {
        var key = Keys(cfg, ip, mailFrom, "").TupleKey;
        _tuples.Set(key, NowSeconds.ToString(CultureInfo.InvariantCulture));
        return key;
    }

    /// <summary>DelayExpireOnSpam: a tuple that sent spam loses its safelisting.</summary>
    public bool ExpireTuple(ConfigSnapshot cfg, IPAddress ip, string mailFrom) => _tuples.Remove(Keys(cfg, ip, mailFrom, "").TupleKey);

    /// <summary>The CleanDelayDBInterval job: triplets past the wait window and tuples past their expiry go.</summary>
    public (int Triplets, int Tuples) Clean(ConfigSnapshot cfg)
    {
        long now = NowSeconds;
        long tripletLimit = (long)(cfg.GetDecimal("DelayEmbargoTime") * 60 + cfg.GetDecimal("DelayWaitTime") * 3600);
        long tupleLimit = (long)(cfg.GetDecimal("DelayExpiryTime") * 24 * 3600);
        int triplets = _triplets.RemoveWhere((_, r) => !long.TryParse(r.Value, out var t) || now - t >= tripletLimit);
        int tuples = _tuples.RemoveWhere((_, r) => !long.TryParse(r.Value, out var t) || now - t >= tupleLimit);
        return (triplets, tuples);
    }

    private static (string TripletKey, string HostKey, string TupleKey, string Shown) Keys(ConfigSnapshot cfg, IPAddress ip, string mailFrom, string recipient)
    {
        var from = mailFrom.Trim().Trim('<', '>').ToLowerInvariant();
        int at = from.IndexOf('@');
        var senderDomain = at >= 0 ? from[(at + 1)..] : from;
        if (cfg.GetBool("DelayNormalizeVERPs"))
        {
            // Per-message VERP senders (list+123-456@…) become one sender for the list.
            from = VerpExtension().Replace(from, "");
            from = VerpNumbers().Replace(from, "#");
        }
        var net = Network(ip, cfg.GetBool("DelayUseNetblocks"));
        var triplet = $"{net} {from} {recipient.Trim().Trim('<', '>').ToLowerInvariant()}";
        var host = cfg.GetBool("DelayWithMyName") ? triplet + " " + cfg["myName"] : triplet;
        var tuple = $"{net} {senderDomain}";
        var shown = $"({net},{from},{recipient.ToLowerInvariant()})";
        if (cfg.GetBool("DelayMD5")) return (Md5(triplet), Md5(host), Md5(tuple), shown);
        return (triplet, host, tuple, shown);
    }

    /// <summary>ASSP's ipNetwork: the /24 (IPv4) or /64 (IPv6) written as an address, or the address itself.</summary>
    internal static string Network(IPAddress ip, bool netblocks)
    {
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        if (!netblocks) return ip.ToString();
        var b = ip.GetAddressBytes();
        if (b.Length == 4) return $"{b[0]}.{b[1]}.{b[2]}.0";
        for (int i = 8; i < 16; i++) b[i] = 0;
        return new IPAddress(b).ToString();
    }

    private static string Md5(string text) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(text)));

    [GeneratedRegex(@"\+[^@]*(?=@)")]
    private static partial Regex VerpExtension();
    [GeneratedRegex(@"\b\d+\b(?=.*@)")]
    private static partial Regex VerpNumbers();
}
