using System.Net;
using Assp.Checks;
using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.Config;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// The real PenaltyBox, except that the loopback clients <paramref name="listed"/> picks count as in its black box
/// (the box never takes loopback addresses itself, and every test client is one).
/// </summary>
internal sealed class LoopbackBlackBox(IIpReputation inner, Func<IPAddress, bool> listed) : IIpReputation
{
    public void AddBlack(ConfigSnapshot cfg, IPAddress ip, double score, string reason) => inner.AddBlack(cfg, ip, score, reason);
    public double? BlackTotal(ConfigSnapshot cfg, IPAddress ip) => listed(ip) ? 10 : inner.BlackTotal(cfg, ip);
    public bool IsWhite(ConfigSnapshot cfg, IPAddress ip) => inner.IsWhite(cfg, ip);
    public void AddWhite(ConfigSnapshot cfg, IPAddress ip, string reason) => inner.AddWhite(cfg, ip, reason);
    public void DeleteBlack(ConfigSnapshot cfg, IPAddress ip) => inner.DeleteBlack(cfg, ip);
    public void DeleteWhite(ConfigSnapshot cfg, IPAddress ip) => inner.DeleteWhite(cfg, ip);

    /// <summary>The full check pipeline on <paramref name="store"/> with this box, and "bot.example" as a known spam HELO.</summary>
    public static DecisionPipeline Pipeline(IStore store, Func<IPAddress, bool> listed)
    {
        store.Table(StoreTables.SpamDbHelo).Set("bot.example", "5");
        var services = new CheckServices(store);
        var engine = new DecisionEngine(new LoopbackBlackBox(new IpPenaltyBox(store), listed), new StoredAddressReputation(store), new NotSpamTags(store));
        return new DecisionPipeline(engine, null, CheckCatalog.Discover(services), services);
    }
}
