using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Assp.Storage;

namespace Assp.Bayes;

/// <summary>
/// spamdb.helo as ASSP's rebuild makes it: every corpus file adds its folder weight to the spam or the ham count of
/// the HELO its sender gave (read from the Received header the proxy wrote: "from name ([ip] helo=…)", ignoring
/// private IPs). A HELO seen almost only in spam (spam / (spam + ham/3 + 0.1) above 0.98) is stored with weight 1
/// (blacklisted: the BlackHELO check); one seen mostly in ham (below 0.12, more than 3 ham) with 0.2 minus that
/// ratio (known good: the useHeloGoodlist check). Everything in between is not stored.
/// </summary>
public sealed partial class HeloWeights
{
    private readonly Dictionary<string, (double Spam, double Ham)> _weights = new(StringComparer.Ordinal);

    public int Count => _weights.Count;

    public void Add(string helo, bool isSpam, double factor)
    {
        var key = helo.ToLowerInvariant();
        var w = _weights.GetValueOrDefault(key);
        _weights[key] = isSpam ? (w.Spam + factor, w.Ham) : (w.Spam, w.Ham + factor);
    }

    /// <summary>The spamdb.helo value for these counts, or null when the HELO says nothing either way.</summary>
    public static double? Weight(double spam, double ham)
    {
        double w = spam / (spam + ham / 3 + 0.1);
        if (w > 0.98) return Math.Floor(w + 0.5);
        if (w < 0.12 && ham > 3) return Math.Round(0.2 - w, 2, MidpointRounding.AwayFromZero);
        return null;
    }

    /// <summary>The records this corpus gives, HELO → weight.</summary>
    public Dictionary<string, double> Records()
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (helo, w) in _weights)
            if (Weight(w.Spam, w.Ham) is { } weight) result[helo] = weight;
        return result;
    }

    /// <summary>Writes spamdb.helo: replaces it (ReplaceOldSpamdb) or adds to it; returns the records written.</summary>
    public int Save(IStore store, bool replace)
    {
        var table = store.Table(StoreTables.SpamDbHelo);
        var records = Records();
        if (replace) table.Clear();
        foreach (var (helo, weight) in records) table.Set(helo, weight.ToString("0.##", CultureInfo.InvariantCulture));
        store.Flush();
        return records.Count;
    }

    /// <summary>The HELO of the host that handed the message to us, from the topmost Received header that records
    /// one with its IP; null when there is none or that IP is private (a host of our own network says nothing).</summary>
    public static string? SenderHelo(Assp.Mime.MimeMessage message)
    {
        foreach (var h in message.Headers.GetAll("Received"))
        {
            var m = ReceivedHeloRe().Match(h.UnfoldedValue);
            if (!m.Success) continue;
            if (!IPAddress.TryParse(m.Groups["ip"].Value, out var ip) || IsPrivate(ip)) return null;
            var helo = m.Groups["helo"].Value.Trim('[', ']');
            return helo.Length > 0 ? helo.ToLowerInvariant() : null;
        }
        return null;
    }

    private static bool IsPrivate(IPAddress ip)
    {
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        if (IPAddress.IsLoopback(ip)) return true;
        if (ip.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = ip.GetAddressBytes();
            return b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254);
        }
        return ip.IsIPv6LinkLocal || ip.IsIPv6SiteLocal || ip.IsIPv6UniqueLocal;
    }

    [GeneratedRegex(@"\(\[(?<ip>[0-9A-Fa-f:.]+)\][^)]*?\bhelo\s*=\s*(?<helo>[^\s)]+)", RegexOptions.IgnoreCase, 1000)]
    private static partial Regex ReceivedHeloRe();
}
