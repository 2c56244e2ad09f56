using Assp.Config.Lists;
using Assp.Config.Registry;

namespace Assp.Config.Tests;

public class ListSyntaxTests
{
    private static ConfigSnapshot Load(TestPaths.TempDir dir, string cfg)
    {
        File.WriteAllText(Path.Combine(dir.Path, "assp.cfg"), cfg + "\nConfigSavedOK:=1\n");
        return new ConfigLoader(OptionRegistry.Default) { HostResolver = _ => [], ExportGroups = false }.Load(new ConfigSource(dir.Path));
    }

    [Fact]
    public void Comments_blank_lines_and_nested_includes()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("files/a.txt", "# header\n\none.example ; trailing\n  # include files/b.txt\ntwo.example # trailing\n");
        dir.File("files/b.txt", "#include c.txt\nthree.example\n");
        dir.File("files/c.txt", "four.example\r\n");
        var cfg = Load(dir, "localDomains:=file:files/a.txt");
        Assert.Equal(["one.example", "four.example", "three.example", "two.example"], cfg.GetListEntries("localDomains").Select(e => e.Text));
        Assert.Equal(("files/c.txt", 1), (cfg.GetListEntries("localDomains")[1].File, cfg.GetListEntries("localDomains")[1].Line));
        Assert.DoesNotContain(cfg.Issues, i => i.Severity == IssueSeverity.Error);
    }

    [Fact]
    public void Include_loops_are_reported_and_do_not_hang()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("files/a.txt", "a.example\n# include files/b.txt\n");
        dir.File("files/b.txt", "b.example\n# include files/a.txt\n");
        var cfg = Load(dir, "localDomains:=file:files/a.txt");
        Assert.Equal(["a.example", "b.example"], cfg.GetListEntries("localDomains").Select(e => e.Text));
        var loop = Assert.Single(cfg.Issues, i => i.Message.Contains("include loop"));
        Assert.Equal("files/b.txt", loop.File);
        Assert.Equal(2, loop.Line);
    }

    [Fact]
    public void In_regex_files_unescaped_hash_and_semicolon_start_comments_like_in_assp()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("files/re.txt", "# comment line\n&\\#x41\\;\nfoo\\;bar # trailing\nbaz;qux\n");
        var cfg = Load(dir, "whiteRe:=file:files/re.txt");
        Assert.Equal(["&\\#x41\\;", "foo\\;bar", "baz"], cfg.GetListEntries("whiteRe").Select(e => e.Text));
        var re = cfg.GetRegex("whiteRe");
        Assert.True(re.IsMatch("xx FOO;BAR"));
        Assert.True(re.IsMatch("&#x41;"));
        Assert.False(re.IsMatch("qux"));
    }

    [Fact]
    public void Missing_files_warn_and_count_as_empty()
    {
        using var dir = new TestPaths.TempDir();
        var cfg = Load(dir, "whiteListedIPs:=file:files/none.txt");
        Assert.Contains(cfg.Issues, i => i.Severity == IssueSeverity.Warning && i.Option == "whiteListedIPs" && i.Message.Contains("does not exist"));
        Assert.False(cfg.GetIpList("whiteListedIPs").Contains("1.2.3.4"));
    }

    [Fact]
    public void Groups_expand_in_lists_and_unknown_groups_are_reported()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("files/groups.txt", "[staff]\nann@example.com\n# include files/more.txt\n[nets]\n10.9.0.0/16\n");
        dir.File("files/more.txt", "bob@example.com\n");
        var cfg = Load(dir, "Groups:=file:files/groups.txt\nnoProcessing:=[staff]|carl@example.com\nwhiteListedIPs:=[nets]\nEmailAdmins:=[nobody]");
        var np = cfg.GetAddressList("noProcessing");
        Assert.True(np.Contains("bob@example.com"));
        Assert.True(np.Contains("ann@example.com"));
        Assert.True(np.Contains("carl@example.com"));
        Assert.True(cfg.GetIpList("whiteListedIPs").Contains("10.9.3.4"));
        Assert.Contains(cfg.Issues, i => i.Severity == IssueSeverity.Warning && i.Option == "EmailAdmins" && i.Message.Contains("[nobody]"));
    }

    [Fact]
    public void Group_exec_lines_run_and_ldap_lines_are_reported()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("files/groups.txt", "[fromexec]\nexec:printf 'x@a.example,y@a.example|z@a.example\\n'\n[fromldap]\nldap:{},{(cn=admins)}{member},{}{}\n");
        var cfg = Load(dir, "Groups:=file:files/groups.txt\nnoProcessing:=[fromexec]");
        var np = cfg.GetAddressList("noProcessing");
        Assert.True(np.Contains("x@a.example") && np.Contains("y@a.example") && np.Contains("z@a.example"));
        Assert.Contains(cfg.Issues, i => i.Option == "Groups" && i.Message.Contains("ldap:"));
    }

    [Fact]
    public void Bad_list_entries_are_reported_with_file_and_line()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("files/ips.txt", "10.0.0.0/8\n300.1.2.3\n010.1.1.1\n");
        dir.File("files/re.txt", "good\n(unclosed\n");
        var cfg = Load(dir, "whiteListedIPs:=file:files/ips.txt\nwhiteRe:=file:files/re.txt");
        var ipErrors = cfg.Issues.Where(i => i.Option == "whiteListedIPs" && i.Severity == IssueSeverity.Error).ToList();
        Assert.Equal([2, 3], ipErrors.Select(i => i.Line));
        Assert.Contains("leading zero", ipErrors[1].Message);
        var reError = Assert.Single(cfg.Issues, i => i.Option == "whiteRe");
        Assert.Equal(("files/re.txt", 2), (reError.File, reError.Line));
        // The good entries still work.
        Assert.True(cfg.GetIpList("whiteListedIPs").Contains("10.1.1.1"));
        Assert.True(cfg.GetRegex("whiteRe").IsMatch("so good"));
    }

    [Theory]
    [InlineData("# include files/x.txt", "files/x.txt")]
    [InlineData("#include \"x y.txt\"", "x y.txt")]
    [InlineData("#   INCLUDE   a.txt  ", "a.txt")]
    public void Include_directive_forms(string line, string expected)
    {
        Assert.True(ListFileReader.TryParseInclude(line.Trim(), out var path));
        Assert.Equal(expected, path);
    }

    [Theory]
    [InlineData("# includes are nice")]
    [InlineData("#include")]
    [InlineData("# comment")]
    public void Comments_that_are_not_includes(string line) => Assert.False(ListFileReader.TryParseInclude(line, out _));

    [Fact]
    public void Hostnames_in_ip_lists_use_the_resolver()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("files/w.txt", "mx.partner.example Partner MX\nnohost.example\n");
        File.WriteAllText(Path.Combine(dir.Path, "assp.cfg"), "whiteListedIPs:=file:files/w.txt\nConfigSavedOK:=1\n");
        var loader = new ConfigLoader(OptionRegistry.Default)
        {
            ExportGroups = false,
            HostResolver = h => h == "mx.partner.example" ? [System.Net.IPAddress.Parse("192.0.2.7"), System.Net.IPAddress.Parse("2001:db8::7")] : [],
        };
        var cfg = loader.Load(new ConfigSource(dir.Path));
        var list = cfg.GetIpList("whiteListedIPs");
        Assert.True(list.Contains("192.0.2.7"));
        Assert.True(list.Contains("2001:db8::7"));
        Assert.False(list.Contains("192.0.2.8"));
        Assert.Contains(cfg.Issues, i => i.Value == "nohost.example" && i.Severity == IssueSeverity.Warning);
    }
}

public class GroupExecDeferralTests
{
    [Fact]
    public void Exec_lines_wait_while_exec_is_not_allowed()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("files/groups.txt", "[g]\nexec:echo a@b.example\nliteral@b.example\n");
        dir.File("assp.cfg", "Groups:=file:files/groups.txt\nnoProcessing:=[g]\nConfigSavedOK:=1\n");
        var loader = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false, AllowExec = false };
        var cfg = loader.Load(new ConfigSource(dir.Path));
        Assert.False(cfg.GetAddressList("noProcessing").Contains("a@b.example"));
        Assert.True(cfg.GetAddressList("noProcessing").Contains("literal@b.example"));
        Assert.Contains(cfg.Issues, i => i.Option == "Groups" && i.Message.Contains("runAsUser"));
        loader.AllowExec = true;
        Assert.True(loader.Load(new ConfigSource(dir.Path)).GetAddressList("noProcessing").Contains("a@b.example"));
    }
}
