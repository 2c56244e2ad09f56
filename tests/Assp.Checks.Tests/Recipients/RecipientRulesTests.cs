using Assp.Checks.Recipients;

namespace Assp.Checks.Tests.Recipients;

public class RecipientRulesTests
{
    private static RecipientRules Rules(string rules) =>
        RecipientRules.For(TestConfig.Create(new Dictionary<string, string> { ["files/rcptreplrules.txt"] = rules }, ("ReplaceRecpt", "file:files/rcptreplrules.txt")));

    [Fact]
    public void SimpleRulesFillTheStarsInOrder()
    {
        var r = Rules("# comment\n01<=>S<=>*@mydomain.*<=>*@myotherdomain.*<=><=>0<=>\n");
        Assert.Equal("john@myotherdomain.org", r.Apply("john@mydomain.org", "x@y.z"));
        Assert.Equal("john@else.org", r.Apply("john@else.org", "x@y.z"));
    }

    [Fact]
    public void SenderConditionAndStop()
    {
        var r = Rules("01<=>S<=>*@a.test<=>*@b.test<=>*@friend.test<=>1<=>\n02<=>S<=>*@*<=>catch@c.test<=><=>0<=>\n");
        Assert.Equal("u@b.test", r.Apply("u@a.test", "me@friend.test"));     // rule 1 matched: stop
        Assert.Equal("catch@c.test", r.Apply("u@a.test", "me@stranger.test")); // rule 1 did not: rule 2
    }

    [Fact]
    public void JumpsEndAndRegexRules()
    {
        var r = Rules("""
            001<=>S<=>spam@local.test<=>spam@local.test<=><=>1<=>100
            050<=>S<=>*<=>never@local.test<=><=>0<=>
            099<=>S<=>*<=>*<=><=>1<=>END
            100<=>R<=>^spam@(.*)$<=>junk@$1<=><=>0<=>END
            200<=>S<=>*<=>never@local.test<=><=>0<=>
            """);
        Assert.Equal("junk@local.test", r.Apply("spam@local.test", ""));
        Assert.Equal("never@local.test", r.Apply("user@local.test", ""));
    }

    [Fact]
    public void LaterRuleWithTheSameNumberWinsAndBadTypesAreSkipped()
    {
        var r = Rules("01<=>S<=>a@x.test<=>b@x.test<=><=>0<=>\n01<=>S<=>a@x.test<=>c@x.test<=><=>0<=>\n02<=>Q<=>*<=>q@x.test<=><=>0<=>\n");
        Assert.Equal("c@x.test", r.Apply("a@x.test", ""));
        Assert.Equal(2 - 1, r.Count);
    }
}

public class RecipientRulesInlineTests
{
    [Fact]
    public void RulesInTheOptionValueItself()
    {
        var r = RecipientRules.For(TestConfig.Create(("ReplaceRecpt", "01<=>S<=>*@example.org<=>*@example.com<=><=>1<=>")));
        Assert.Equal(1, r.Count);
        Assert.Equal("alice@example.com", r.Apply("alice@example.org", "a@b.c"));
    }
}
