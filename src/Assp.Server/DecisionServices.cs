using Assp.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Dns;
using Assp.Checks.PenaltyBox;
using Assp.Config;
using Assp.Config.Logging;
using Assp.Config.Scheduling;
using Assp.Storage;

namespace Assp.Server;

/// <summary>
/// The decision engine of one instance with what it stands on: the store of ASSP's databases, the PenaltyBox,
/// the address databases, NotSpamTags, and their maintenance jobs.
/// </summary>
internal sealed class DecisionServices : IDisposable
{
    public IStore Store { get; }
    public DecisionEngine Engine { get; }
    public DecisionPipeline Pipeline { get; }

    private DecisionServices(IStore store, IIpReputation ip, IAddressReputation addresses, bool readOnly, DnsListChecks? dns)
    {
        Store = store;
        var tags = new NotSpamTags(store);
        Engine = readOnly
            ? new DecisionEngine(new ReadOnlyIpReputation(ip), new ReadOnlyAddressReputation(addresses), null)
            : new DecisionEngine(ip, addresses, tags, new Assp.Checks.Delaying.Greylist(store));
        _dns = dns;
        // Virus reports go out like the DMARC reports: through relayHost, else smtpDestination.
        var services = new CheckServices(store, dns, Mailer: readOnly ? null : (cfg, from, to, message, ct) => Assp.Smtp.ReportMailer.SendAsync(cfg, from, to, message, ct));
        Pipeline = new DecisionPipeline(Engine, dns, CheckCatalog.Discover(services), services);
    }

    private readonly DnsListChecks? _dns;

    /// <summary>The resolver the DNS checks use (the health probe asks it too); null without DNS.</summary>
    public Assp.Dns.DnsResolver? Resolver => _dns?.Resolver;

    /// <summary>The client's PTR name (first answer, checked as a host name) for the Received: line; null without DNS or an answer.</summary>
    public async Task<string?> ReverseLookupAsync(System.Net.IPAddress address, CancellationToken ct)
    {
        if (_dns is null) return null;
        try
        {
            var names = await _dns.Resolver.GetHostNamesAsync(address, ct).ConfigureAwait(false);
            var name = names.Count > 0 ? names[0].TrimEnd('.') : null;
            return name is not null && Assp.Config.Registry.ValueSyntax.IsHostName(name) ? name : null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <exception cref="StoreConfigException">the database options cannot be used</exception>
    public static DecisionServices Open(ConfigSnapshot cfg, Action<string>? log = null) => Create(cfg, StoreFactory.Open(cfg, log), readOnly: false);

    /// <summary>For the analyzer: the instance's data read, never changed.</summary>
    public static DecisionServices OpenForAnalysis(ConfigSnapshot cfg) =>
        Create(cfg, File.Exists(SqliteStoreOptions.DefaultPath(cfg.BaseDirectory)) ? OpenStore(cfg) : new MemoryStore(), readOnly: true);

    /// <summary>
    /// A pipeline for the web admin's Mail Analyzer over this instance's store: it reads the databases the proxy
    /// uses and changes none of them; no DNS lists (the analyzer works offline, as `assp analyze` does).
    /// </summary>
    public ICheckPipeline AnalysisPipeline(ConfigSnapshot cfg)
    {
        var engine = new DecisionEngine(new ReadOnlyIpReputation(new IpPenaltyBox(Store)), new ReadOnlyAddressReputation(new StoredAddressReputation(Store)), null);
        var services = new CheckServices(Store);
        return new DecisionPipeline(engine, null, CheckCatalog.Discover(services), services);
    }

    // The analyzer reads this node's file only: it never connects to a shared database.
    private static IStore OpenStore(ConfigSnapshot cfg) => SqliteStore.OpenInBase(cfg.BaseDirectory);

    private static DecisionServices Create(ConfigSnapshot cfg, IStore store, bool readOnly) =>
        new(store, new IpPenaltyBox(store), new StoredAddressReputation(store), readOnly,
            // The analyzer works offline: no DNS lists there.
            readOnly ? null : DnsListChecks.FromConfig(cfg).UseStore(store));

    /// <summary>The databases' expiry and export jobs on the shared scheduler.</summary>
    /// <remarks>With mysqlSlaveMode the clean-ups of tables shared in PostgreSQL are left to the master node.</remarks>
    public void RegisterJobs(Scheduler scheduler, ConfigManager manager, MailLog log)
    {
        // CleanPBInterval (hours): expired black/white box and trap records go.
        scheduler.AddOrUpdate("CleanPB", () => Interval(manager.Current["CleanPBInterval"], TimeSpan.FromHours(1)), _ =>
        {
            if (Engine.IpReputation is IpPenaltyBox box && !StoreFactory.LeftToMaster(manager.Current, StoreTables.PbBlack))
                foreach (var line in box.Cleanup(manager.Current).LogLines()) log.Write(line);
            return Task.CompletedTask;
        }, "remove expired PenaltyBox records every CleanPBInterval hours");
        // exportInterval (hours): extreme IPs to exportExtremeBlack for firewalls.
        scheduler.AddOrUpdate("ExtremeExport", () => manager.Current.GetBool("DoExtremeExport")
            ? Interval(manager.Current["exportInterval"], TimeSpan.FromHours(1)) : Schedule.Never, _ =>
        {
            if (Engine.IpReputation is IpPenaltyBox box && box.ExportExtreme(manager.Current) is { LogLine: { } line }) log.Write(line);
            return Task.CompletedTask;
        }, "write the extreme IPs to exportExtremeBlack every exportInterval hours");
        // CleanDelayDBInterval (seconds): greylisting triplets past their wait window and expired tuples go.
        scheduler.AddOrUpdate("CleanDelayDB", () => Interval(manager.Current["CleanDelayDBInterval"], TimeSpan.FromSeconds(1)), _ =>
        {
            if (Engine.Greylist is { } greylist && !StoreFactory.LeftToMaster(manager.Current, StoreTables.DelayDb))
            {
                var (triplets, tuples) = greylist.Clean(manager.Current);
                if (triplets + tuples > 0) log.Write($"cleaning delaying database: {triplets} triplets and {tuples} safelisted tuples removed");
            }
            return Task.CompletedTask;
        }, "remove outdated greylisting records every CleanDelayDBInterval seconds");
        // UpdateWhitelist (seconds): whitelist and personal blacklist entries idle for MaxWhitelistDays go.
        scheduler.AddOrUpdate("UpdateWhitelist", () => Interval(manager.Current["UpdateWhitelist"], TimeSpan.FromSeconds(1)), _ =>
        {
            if (Engine.AddressReputation is StoredAddressReputation db && !StoreFactory.LeftToMaster(manager.Current, StoreTables.Whitelist))
            {
                int removed = db.Whitelist.PurgeExpired(manager.Current) + db.PersonalBlacklist.PurgeExpired(manager.Current);
                if (removed > 0) log.Write($"UpdateWhitelist: {removed} whitelist and personal blacklist entries older than MaxWhitelistDays removed");
            }
            Store.Flush();
            return Task.CompletedTask;
        }, "save the whitelist and remove entries idle for MaxWhitelistDays");
        // SPFCacheInterval (days): old SPF results leave pbdb.spf.db.
        scheduler.AddOrUpdate("SPFCacheCleanup", () => Schedule.Parse("27 3 * * *", TimeSpan.FromHours(1)), _ =>
        {
            if (StoreFactory.LeftToMaster(manager.Current, "pbdb.spf.db")) return Task.CompletedTask;
            int removed = Assp.Checks.Checks.SpfService.CleanCache(manager.Current, Store, Store.Clock);
            if (removed > 0) log.Write($"SPF cache: {removed} entries older than SPFCacheInterval days removed");
            return Task.CompletedTask;
        }, "remove SPF cache entries older than SPFCacheInterval days");
        // SBCacheExp (days): old SenderBase country/organization records leave pbdb.sb.db.
        scheduler.AddOrUpdate("SBCacheCleanup", () => Schedule.Parse("37 3 * * *", TimeSpan.FromHours(1)), _ =>
        {
            if (StoreFactory.LeftToMaster(manager.Current, Assp.Checks.Checks.SenderBaseCache.Table)) return Task.CompletedTask;
            int removed = Assp.Checks.Checks.SenderBaseCache.Clean(manager.Current, Store, Store.Clock);
            if (removed > 0) log.Write($"SenderBase cache: {removed} entries older than SBCacheExp days removed");
            return Task.CompletedTask;
        }, "remove SenderBase cache entries older than SBCacheExp days");
        // DMARCReportFrom: the aggregate reports of the last day go out through relayHost (else smtpDestination).
        scheduler.AddOrUpdate("DMARCReports", () => manager.Current["DMARCReportFrom"].Trim().Length > 0
            ? Schedule.Parse("7 * * * *", TimeSpan.FromHours(1)) : Schedule.Never, async ct =>
        {
            var cfg = manager.Current;
            await Assp.Checks.Checks.DmarcReports.SendDueAsync(cfg, Store, Store.Clock,
                (from, to, message, ct) => Assp.Smtp.ReportMailer.SendAsync(cfg, from, to, message, ct), log.Write, force: false, ct)
                .ConfigureAwait(false);
        }, "send the DMARC aggregate reports that are due");
        // DMARC failure reports (ruf=) are queued by the check and go out within a minute.
        scheduler.AddOrUpdate("DMARCFailureReports", () => manager.Current["DMARCReportFrom"].Trim().Length > 0
            ? Interval("60", TimeSpan.FromSeconds(1)) : Schedule.Never, async ct =>
        {
            var cfg = manager.Current;
            await Assp.Checks.Checks.DmarcFailureReports.SendPendingAsync(Store, Store.Clock,
                (from, to, message, ct) => Assp.Smtp.ReportMailer.SendAsync(cfg, from, to, message, ct), log.Write, ct).ConfigureAwait(false);
        }, "send the queued DMARC failure reports");
        // LDAPcrossCheckInterval (hours): ldaplistdb entries idle for MaxLDAPlistDays, or no longer known to LDAP/VRFY, go.
        var validator = Assp.Checks.Recipients.LocalAddressValidator.For(new CheckServices(Store));
        scheduler.AddOrUpdate("LDAPcrossCheck", () => manager.Current["ldaplistdb"].Trim().Length > 0
            ? Interval(manager.Current["LDAPcrossCheckInterval"], TimeSpan.FromHours(1)) : Schedule.Never, async ct =>
        {
            var (expired, removed, kept) = await validator.CrossCheckAsync(manager.Current, ct).ConfigureAwait(false);
            if (expired + removed > 0) log.Write($"LDAP/VRFY cross-check: {expired} outdated and {removed} no longer valid addresses removed from ldaplistdb, {kept} kept");
        }, "check the ldaplistdb addresses against LDAP/VRFY every LDAPcrossCheckInterval hours");
        // forceLDAPcrossCheck: switched on, the cross-check runs now.
        scheduler.RunJobWhenSwitchedOn(manager, "forceLDAPcrossCheck", "LDAPcrossCheck");
        // The DNS list caches (pbdb.rbl/rwl/uribl/back.db): records past their lifetime go every hour.
        scheduler.AddOrUpdate("CleanDnsCaches", () => Pipeline.Dns is null ? Schedule.Never : Interval("1", TimeSpan.FromHours(1)), _ =>
        {
            if (Pipeline.Dns is { } dns && dns.CleanCaches(manager.Current) is > 0 and var removed)
                log.Write($"cleaning DNS list caches: {removed} expired records removed");
            return Task.CompletedTask;
        }, "remove expired DNSBL, RWL, URIBL and backscatter cache records every hour");
        // RebuildSchedule, RunRebuildNow, newReportedInterval: spamdb and HMMdb from the corpus folders.
        SpamDbRebuild.RegisterJobs(scheduler, manager, Store, log.Write);
        scheduler.AddOrUpdate("NotSpamTagCleanup", () => Schedule.Parse("17 4 * * *", TimeSpan.FromHours(1)), _ =>
        {
            if (Engine.NotSpamTags is { } tags) tags.Purge(DateTimeOffset.UtcNow);
            return Task.CompletedTask;
        }, "forget used NotSpamTags after 30 days");
    }

    private static Schedule Interval(string value, TimeSpan unit) =>
        Schedule.TryParse(value, unit, out var s, out _) ? s! : Schedule.Never;

    public void Dispose() => Store.Dispose();
}
