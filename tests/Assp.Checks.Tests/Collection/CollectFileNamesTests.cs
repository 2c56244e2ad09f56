using Assp.Checks.Collection;
using Assp.Checks.Decision;

namespace Assp.Checks.Tests.Collection;

public class CollectFileNamesTests
{
    [Theory]
    [InlineData("Cheap pills!! Buy now", "Cheap_pills_Buy_now")]
    [InlineData("  --Re: [list] hello.world  ", "Re_list_hello_world")]
    [InlineData("Grüße aus Köln", "Gr_e_aus_K_ln")]
    [InlineData("", "")]
    [InlineData("../../etc/passwd", "etc_passwd")]
    public void The_subject_becomes_a_safe_ASCII_name(string subject, string expected) =>
        Assert.Equal(expected, CollectFileNames.CleanSubject(subject, unicode: false, maxLength: 50));

    [Fact]
    public void UseUnicode4MaillogNames_keeps_letters_but_never_path_characters()
    {
        Assert.Equal("Grüße_aus_Köln", CollectFileNames.CleanSubject("Grüße aus Köln", unicode: true, maxLength: 50));
        Assert.Equal("a_b_c_d", CollectFileNames.CleanSubject("a/b\\c:d", unicode: true, maxLength: 50));
        Assert.Equal("price_10", CollectFileNames.CleanSubject("price €10", unicode: true, maxLength: 50));
    }

    [Fact]
    public void The_name_is_cut_at_MaxFileNameLength() =>
        Assert.Equal("abcdefghij", CollectFileNames.CleanSubject("abcdefghijklmnop", unicode: false, maxLength: 10));

    [Fact]
    public void With_UseSubjectsAsMaillogNames_the_name_is_subject_and_counter()
    {
        var cfg = TestConfig.Create(("UseSubjectsAsMaillogNames", "1"), ("maillogExt", ".eml"), ("MaxFileNameLength", "8"));
        Assert.Equal("Cheap_pi--42.eml", CollectFileNames.FileName(cfg, CollectTarget.Spam, "Cheap pills", 42, 7));
    }

    [Fact]
    public void Without_subjects_spam_and_ham_get_the_random_number_and_okmail_keeps_subject_names()
    {
        var cfg = TestConfig.Create(("UseSubjectsAsMaillogNames", "0"), ("maillogExt", ".msg"), ("MaintBayesCollection", "0"));
        Assert.Equal("7.msg", CollectFileNames.FileName(cfg, CollectTarget.Spam, "Cheap pills", 42, 7));
        Assert.Equal("7.msg", CollectFileNames.FileName(cfg, CollectTarget.NotSpam, "hi", 42, 7));
        Assert.Equal("hi--42.msg", CollectFileNames.FileName(cfg, CollectTarget.OkMail, "hi", 42, 7));
        Assert.Equal("hi--42.msg", CollectFileNames.FileName(cfg, CollectTarget.Quarantine, "hi", 42, 7));
        // Age-based maintenance needs unique names: the counter is added to the number.
        var aged = TestConfig.Create(("UseSubjectsAsMaillogNames", "0"), ("maillogExt", ".msg"), ("MaintBayesCollection", "1"), ("MaxBayesFileAge", "30"), ("MaxNoBayesFileAge", "0"));
        Assert.Equal("7--42.msg", CollectFileNames.FileName(aged, CollectTarget.Spam, "x", 42, 7));
        Assert.Equal("7.msg", CollectFileNames.FileName(aged, CollectTarget.Discard, "x", 42, 7));
    }

    [Fact]
    public void Random_numbers_stay_below_MaxFiles_and_a_small_distribution_favours_low_numbers()
    {
        var random = new Random(1);
        var uniform = Enumerable.Range(0, 20000).Select(_ => CollectFileNames.RandomNumber(100, 1, random)).ToList();
        Assert.All(uniform, n => Assert.InRange(n, 0, 99));
        Assert.True(uniform.Distinct().Count() == 100);
        var skewed = Enumerable.Range(0, 20000).Select(_ => CollectFileNames.RandomNumber(100, 0.1, random)).ToList();
        Assert.All(skewed, n => Assert.InRange(n, 0, 99));
        // Uniform: about half below 50. Exponential towards low numbers: clearly more.
        Assert.InRange(uniform.Count(n => n < 50), 9000, 11000);
        Assert.True(skewed.Count(n => n < 50) > 14000);
    }

    [Theory]
    [InlineData("30 60", 30, 60)]
    [InlineData("31", 31, 31)]
    [InlineData("", 0, 0)]
    [InlineData("x 5", 0, 5)]
    public void Age_options_take_one_number_per_folder_and_repeat_the_first(string value, double first, double second) =>
        Assert.Equal([first, second], CollectFileNames.Numbers(value, 2));
}
