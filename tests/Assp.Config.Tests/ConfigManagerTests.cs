using Assp.Config.Registry;

namespace Assp.Config.Tests;

public class ConfigManagerTests
{
    private static ConfigManager Create(TestPaths.TempDir dir, TimeProvider? time = null) =>
        new(new ConfigLoader(OptionRegistry.Default) { ExportGroups = false }, new ConfigSource(dir.Path), time);

    private static void Touch(string path, int secondsAhead) => File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(secondsAhead));

    [Fact]
    public void AutoReloadCfg_reloads_when_assp_cfg_changes_and_old_snapshots_stay_intact()
    {
        using var dir = new TestPaths.TempDir();
        var cfgPath = dir.File("assp.cfg", "AutoReloadCfg:=1\nMaxErrors:=5\nConfigSavedOK:=1\n");
        using var manager = Create(dir);
        var before = manager.Current;
        string? reason = null;
        manager.Reloaded += (_, r) => reason = r;
        Assert.False(manager.CheckForChanges());
        File.WriteAllText(cfgPath, "AutoReloadCfg:=1\nMaxErrors:=9\nConfigSavedOK:=1\n");
        Touch(cfgPath, 5);
        Assert.True(manager.CheckForChanges());
        Assert.Equal(9, manager.Current.GetInt("MaxErrors"));
        Assert.Equal(5, before.GetInt("MaxErrors"));
        Assert.True(manager.Current.Generation > before.Generation);
        Assert.Equal("assp.cfg changed", reason);
    }

    [Fact]
    public void Without_AutoReloadCfg_the_file_is_only_read_on_request()
    {
        using var dir = new TestPaths.TempDir();
        var cfgPath = dir.File("assp.cfg", "MaxErrors:=5\nConfigSavedOK:=1\n");
        using var manager = Create(dir);
        File.WriteAllText(cfgPath, "MaxErrors:=9\nConfigSavedOK:=1\n");
        Touch(cfgPath, 5);
        Assert.False(manager.CheckForChanges());
        Assert.Equal(5, manager.Current.GetInt("MaxErrors"));
        Assert.Equal(9, manager.Reload("SIGHUP").GetInt("MaxErrors"));
    }

    [Fact]
    public void List_files_reload_after_ReloadOptionFiles_seconds()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("assp.cfg", "ReloadOptionFiles:=60\nwhiteListedIPs:=file:files/w.txt\nConfigSavedOK:=1\n");
        var list = dir.File("files/w.txt", "10.0.0.1\n");
        var time = new FakeTime(DateTimeOffset.UtcNow);
        using var manager = Create(dir, time);
        File.WriteAllText(list, "10.0.0.2\n");
        Touch(list, 5);
        Assert.False(manager.CheckForChanges());      // not yet due
        time.Advance(TimeSpan.FromSeconds(61));
        Assert.True(manager.CheckForChanges());
        Assert.True(manager.Current.GetIpList("whiteListedIPs").Contains("10.0.0.2"));
        Assert.False(manager.Current.GetIpList("whiteListedIPs").Contains("10.0.0.1"));
    }

    [Fact]
    public void Host_names_in_ip_lists_are_resolved_again_after_host2IPminTTL_seconds()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("assp.cfg", "host2IPminTTL:=120\nReloadOptionFiles:=0\nwhiteListedIPs:=mx.partner.example\nConfigSavedOK:=1\n");
        var time = new FakeTime(DateTimeOffset.UtcNow);
        var address = "192.0.2.1";
        var loader = new ConfigLoader(OptionRegistry.Default) { ExportGroups = false, HostResolver = _ => [System.Net.IPAddress.Parse(address)] };
        using var manager = new ConfigManager(loader, new ConfigSource(dir.Path), time);
        Assert.True(manager.Current.ResolvesHostNames);
        Assert.True(manager.Current.GetIpList("whiteListedIPs").Contains("192.0.2.1"));
        address = "192.0.2.2";   // the partner's MX moved
        time.Advance(TimeSpan.FromSeconds(100));
        Assert.False(manager.CheckForChanges());
        time.Advance(TimeSpan.FromSeconds(21));
        string? reason = null;
        manager.Reloaded += (_, r) => reason = r;
        Assert.True(manager.CheckForChanges());
        Assert.Contains("host2IPminTTL", reason);
        Assert.True(manager.Current.GetIpList("whiteListedIPs").Contains("192.0.2.2"));

        // Without host names nothing ages.
        dir.File("assp.cfg", "host2IPminTTL:=120\nReloadOptionFiles:=0\nwhiteListedIPs:=192.0.2.9\nConfigSavedOK:=1\n");
        manager.Reload("test");
        Assert.False(manager.Current.ResolvesHostNames);
        time.Advance(TimeSpan.FromSeconds(500));
        Assert.False(manager.CheckForChanges());
    }

    [Fact]
    public void SetValues_validates_writes_one_line_and_reloads()
    {
        using var dir = new TestPaths.TempDir();
        var cfgPath = dir.File("assp.cfg", "# my notes\nMaxErrors:=5\nConfigSavedOK:=1\n");
        using var manager = Create(dir);
        var bad = manager.SetValues([new("MaxErrors", "many")]);
        Assert.Equal("MaxErrors", Assert.Single(bad).Option);
        Assert.Equal("# my notes\nMaxErrors:=5\nConfigSavedOK:=1\n", File.ReadAllText(cfgPath));
        Assert.Empty(manager.SetValues([new("MaxErrors", "8"), new("myName", "mx.example.org")]));
        Assert.Equal("# my notes\nMaxErrors:=8\nmyName:=mx.example.org\nConfigSavedOK:=1\n", File.ReadAllText(cfgPath));
        Assert.Equal("mx.example.org", manager.Current["myName"]);
    }

    [Fact]
    public void Invalid_values_fall_back_to_the_default_and_name_option_value_and_line()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("assp.cfg", "MaxErrors:=lots\nDoTLS:=7\nConfigSavedOK:=1\n");
        using var manager = Create(dir);
        var cfg = manager.Current;
        var error = Assert.Single(cfg.Issues, i => i.Option == "MaxErrors");
        Assert.Equal(IssueSeverity.Error, error.Severity);
        Assert.Equal(("assp.cfg", 1, "lots"), (error.File, error.Line, error.Value));
        Assert.Equal(OptionRegistry.Default.Get("MaxErrors").Default, cfg["MaxErrors"]);
        Assert.Contains(cfg.Issues, i => i.Option == "DoTLS" && i.Line == 2);
    }

    [Fact]
    public void Overrides_win_over_the_file()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("assp.cfg", "MaxErrors:=5\nConfigSavedOK:=1\n");
        var loader = new ConfigLoader(OptionRegistry.Default) { ExportGroups = false };
        var cfg = loader.Load(new ConfigSource(dir.Path, Overrides: [new("MaxErrors", "3"), new("nonsense", "1")]));
        Assert.Equal(3, cfg.GetInt("MaxErrors"));
        Assert.Contains(cfg.Issues, i => i.Option == "nonsense" && i.File == "--set");
    }
}
