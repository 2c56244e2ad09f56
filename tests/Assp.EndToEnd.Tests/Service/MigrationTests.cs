using System.Globalization;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.EndToEnd.Tests.Proxy;

namespace Assp.EndToEnd.Tests.Service;

/// <summary>
/// The built `assp import-assp` moves an ASSP folder into a new base folder, then `assp run` on that folder in front of
/// a private Postfix acts on the imported whitelist at once (also after `assp backup` and `assp restore` into an
/// empty database).
/// </summary>
public sealed class MigrationTests : IDisposable
{
    // A limit, not a pace: a passing run never waits for it, and a machine loaded far beyond its cores needs it.
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(90);
    private readonly string _dir = Directory.CreateTempSubdirectory("assp-migrate-e2e-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public async Task A_sender_on_the_imported_whitelist_passes_on_the_first_mail_after_the_migration() =>
        await MigrateThenMail(restoreFromBackup: false);

    /// <summary>`assp backup`, the database lost, `assp restore` into the new empty one: the proxy uses what came back.</summary>
    [Fact]
    public async Task After_a_backup_and_a_restore_into_an_empty_database_the_proxy_uses_the_restored_whitelist() =>
        await MigrateThenMail(restoreFromBackup: true);

    private async Task MigrateThenMail(bool restoreFromBackup)
    {
        await using var mta = await PostfixInstance.StartAsync();
        int port = Ports.FreeUnprivileged();
        var assp = Path.Combine(_dir, "assp");
        Directory.CreateDirectory(Path.Combine(assp, "files"));
        // The ASSP admin's folder: a blacklisted domain, and one correspondent of it on the whitelist (ASSP's layout).
        File.WriteAllText(Path.Combine(assp, "assp.cfg"), string.Join("\n",
            $"listenPort:=127.0.0.1:{port}", $"smtpDestination:=127.0.0.1:{mta.Port}", "localDomains:=file:files/localdomains.txt",
            "blackListedDomains:=file:files/blackdomains.txt", "DoBlackDomainWL:=0", "myName:=proxy.assp-e2e.test",
            "maxSMTPipSessions:=0", "whitelistdb:=whitelist", "ConfigSavedOK:=1", ""));
        File.WriteAllText(Path.Combine(assp, "files", "localdomains.txt"), "example.com\n");
        File.WriteAllText(Path.Combine(assp, "files", "blackdomains.txt"), "far.example\n");
        var seen = (DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 86_400).ToString(CultureInfo.InvariantCulture);
        File.WriteAllText(Path.Combine(assp, "whitelist"), $"\nfriend@far.example\u0002{seen}\n");

        var baseDir = Path.Combine(_dir, "new");
        var (exit, output) = await Repo.RunAssp(Quick, "import-assp", "--from", assp, "--base", baseDir);
        Assert.True(exit == 0, output);
        Assert.Contains("imported → whitelist", output);
        if (restoreFromBackup)
        {
            (exit, output) = await Repo.RunAssp(Quick, "backup", "--base", baseDir);
            Assert.True(exit == 0, output);
            foreach (var f in Directory.GetFiles(Path.Combine(baseDir, "data"), "assp.db*")) File.Delete(f);
            (exit, output) = await Repo.RunAssp(Quick, "restore", "--base", baseDir);
            Assert.True(exit == 0, output);
            Assert.Contains("whitelist.bak", output);
        }

        using var service = AsspService.Start(baseDir);
        try
        {
            await service.WaitForLogAsync("ready;", Quick);
            await using (var client = await TestSmtpClient.ConnectAsync(port))
            {
                await client.ReadReplyAsync();
                Assert.Equal(554, (await client.SendMailAsync("stranger@far.example", ["me@example.com"],
                    "From: stranger@far.example\r\nTo: me@example.com\r\nSubject: offer\r\n\r\nbuy\r\n")).Code);
            }
            await using (var client = await TestSmtpClient.ConnectAsync(port))
            {
                await client.ReadReplyAsync();
                Assert.Equal(250, (await client.SendMailAsync("friend@far.example", ["me@example.com"],
                    "From: friend@far.example\r\nTo: me@example.com\r\nSubject: lunch\r\n\r\nsee you\r\n")).Code);
            }
            var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
            Assert.Contains("Subject: lunch", got.Text);
        }
        finally
        {
            service.Signal("TERM");
            await service.WaitForExitAsync(TimeSpan.FromSeconds(45));
        }
    }
}
