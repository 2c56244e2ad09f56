using System.Net;
using Assp.Config;
using Assp.Mime;

namespace Assp.Checks.Decision;

/// <summary>
/// enhancedOriginIPDetect: the public IPs a message passed through, read from its Received: chain (most recent hop
/// first). Left out: private and shared (100.64.0.0/10) addresses, the connecting IP and the ISP's original client,
/// and IPs on ispip, acceptAllMail, whiteListedIPs, noProcessingIPs, noDelay or noPB. With "all but most origin" (2)
/// the earliest public IP (possibly the sender's own device) is dropped as well.
/// </summary>
public static class OriginIps
{
    /// <summary>At most this many IPs are taken: a forged chain of hundreds of Received lines gets no more lookups.</summary>
    public const int MaxIps = 10;

    private static readonly string[] ExcludingLists = ["ispip", "acceptAllMail", "whiteListedIPs", "noProcessingIPs", "noDelay", "noPB"];

    public static IReadOnlyList<IPAddress> Find(ConfigSnapshot cfg, MimeMessage msg, IPAddress connecting, IPAddress? original)
    {
        int mode = cfg.GetChoice("enhancedOriginIPDetect");
        if (mode == 0) return [];
        var found = new List<IPAddress>();
        foreach (var received in msg.Received)
        {
            if (received.FromIp is not { } ip) continue;
            if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
            if (DecisionEngine.IsPrivate(ip) || IsSharedAddressSpace(ip) || ip.Equals(connecting) || ip.Equals(original) || found.Contains(ip)) continue;
            if (ExcludingLists.Any(list => cfg.GetIpList(list).Contains(ip))) continue;
            found.Add(ip);
        }
        if (mode == 2 && found.Count > 0) found.RemoveAt(found.Count - 1);
        return found.Count > MaxIps ? found[..MaxIps] : found;
    }

    private static bool IsSharedAddressSpace(IPAddress ip)
    {
        if (ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork) return false;
        Span<byte> b = stackalloc byte[4];
        ip.TryWriteBytes(b, out _);
        return b[0] == 100 && (b[1] & 0xC0) == 64;
    }
}
