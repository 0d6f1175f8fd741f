using LlamaBoard.Engine.Runtime;

namespace LlamaBoard.Tests.Engine.Runtime;

public sealed class PathConfinementTests : IDisposable
{
    readonly TempDirectory temp = new();
    readonly string root;
    readonly string outside;

    public PathConfinementTests()
    {
        root = temp.File("root");
        outside = temp.File("outside");
        Directory.CreateDirectory(Path.Combine(root, "models", "m1"));
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "secret.txt"), "x");
    }

    public void Dispose() => temp.Dispose();

    [Fact]
    public void PathsUnderARootAreInsideAndTheRootItselfToo()
    {
        var confinement = new PathConfinement([root]);
        Assert.True(confinement.Contains(root));
        Assert.True(confinement.Contains(root + Path.DirectorySeparatorChar));
        Assert.True(confinement.Contains(Path.Combine(root, "models", "m1")));
        Assert.True(confinement.Contains(Path.Combine(root, "not-yet", "created")));
    }

    [Fact]
    public void DotDotThatLeavesTheRootIsOutsideAndOneThatStaysIsInside()
    {
        var confinement = new PathConfinement([root]);
        Assert.False(confinement.Contains(Path.Combine(root, "..", "outside", "secret.txt")));
        Assert.False(confinement.Contains(Path.Combine(root, "models", "..", "..", "outside")));
        Assert.True(confinement.Contains(Path.Combine(root, "models", "..", "models", "m1")));
    }

    [Fact]
    public void AbsolutePathsElsewhereAndSiblingsWithACommonPrefixAreOutside()
    {
        var confinement = new PathConfinement([root]);
        Assert.False(confinement.Contains(outside));
        Assert.False(confinement.Contains("/etc/passwd"));
        // "root-other" starts with "root" as a string but is not under it.
        Directory.CreateDirectory(root + "-other");
        Assert.False(confinement.Contains(root + "-other"));
    }

    [Fact]
    public void RelativePathsCountFromTheCurrentDirectory()
    {
        var confinement = new PathConfinement([Path.Combine(Environment.CurrentDirectory, "models")]);
        Assert.True(confinement.Contains("models/x"));
        Assert.True(confinement.Contains("./models/../models/y"));
        Assert.False(confinement.Contains("models/../data"));
    }

    [Fact]
    public void ASymlinkInsideARootPointingOutsideIsOutside()
    {
        string link = Path.Combine(root, "models", "escape");
        Directory.CreateSymbolicLink(link, outside);
        var confinement = new PathConfinement([root]);
        Assert.False(confinement.Contains(link));
        Assert.False(confinement.Contains(Path.Combine(link, "secret.txt")));
        Assert.False(confinement.Contains(Path.Combine(link, "new-folder", "file")));
        Assert.Equal(Path.Combine(outside, "secret.txt"), PathConfinement.Canonicalize(Path.Combine(link, "secret.txt")));
    }

    [Fact]
    public void DotDotAfterASymlinkIsAppliedToTheTargetAsTheSystemDoes()
    {
        // root/models/escape -> outside/inner. .NET folds "escape/.." away before opening (root/models/secret.txt), but
        // native code (libtorch) reaches outside/secret.txt: both readings must be inside for the path to be.
        string inner = Path.Combine(outside, "inner");
        Directory.CreateDirectory(inner);
        string link = Path.Combine(root, "models", "escape");
        Directory.CreateSymbolicLink(link, inner);
        var confinement = new PathConfinement([root]);
        Assert.False(confinement.Contains(Path.Combine(link, "..", "secret.txt")));
        Assert.Equal(Path.Combine(root, "models", "secret.txt"), PathConfinement.Canonicalize(Path.Combine(link, "..", "secret.txt")));
    }

    [Fact]
    public void ADanglingSymlinkIsJudgedByItsTarget()
    {
        string link = Path.Combine(root, "models", "dangling");
        File.CreateSymbolicLink(link, Path.Combine(outside, "will-be-written"));
        var confinement = new PathConfinement([root]);
        Assert.False(confinement.Contains(link));
    }

    [Fact]
    public void ASymlinkThatStaysInsideIsInside()
    {
        string link = Path.Combine(root, "alias");
        Directory.CreateSymbolicLink(link, Path.Combine("models", "m1"));
        var confinement = new PathConfinement([root]);
        Assert.True(confinement.Contains(link));
        Assert.Equal(Path.Combine(root, "models", "m1"), PathConfinement.Canonicalize(link));
    }

    [Fact]
    public void ARootThatIsASymlinkIsResolvedToo()
    {
        string linkedRoot = temp.File("linked-root");
        Directory.CreateSymbolicLink(linkedRoot, root);
        var confinement = new PathConfinement([linkedRoot]);
        Assert.True(confinement.Contains(Path.Combine(root, "models")));
        Assert.True(confinement.Contains(Path.Combine(linkedRoot, "models")));
        Assert.False(confinement.Contains(outside));
    }

    [Fact]
    public void ALoopOfLinksIsOutsideNotAHang()
    {
        string a = Path.Combine(root, "a");
        string b = Path.Combine(root, "b");
        Directory.CreateSymbolicLink(a, b);
        Directory.CreateSymbolicLink(b, a);
        var confinement = new PathConfinement([root]);
        Assert.False(confinement.Contains(Path.Combine(a, "x")));
        Assert.Throws<IOException>(() => PathConfinement.Canonicalize(Path.Combine(a, "x")));
    }

    [Fact]
    public void CaseIsRespectedWhereTheFileSystemRespectsIt()
    {
        var confinement = new PathConfinement([root]);
        string upper = Path.Combine(root.ToUpperInvariant(), "models");
        Assert.Equal(OperatingSystem.IsWindows() || OperatingSystem.IsMacOS(), confinement.Contains(upper));
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("sub/../../x")]
    [InlineData("/etc/passwd")]
    [InlineData("")]
    [InlineData("a\0b")]
    public void CombineInsideRefusesNamesThatLeaveTheFolder(string name)
    {
        Assert.Null(PathConfinement.CombineInside(root, name));
    }

    [Fact]
    public void CombineInsideAcceptsNestedNamesAndRefusesOnesThroughAnEscapingLink()
    {
        Assert.Equal(Path.Combine(root, "models", "m1", "config.json"), PathConfinement.CombineInside(root, "models/m1/config.json"));
        Assert.Equal(Path.Combine(root, "models"), PathConfinement.CombineInside(root, "models/m1/.."));
        Directory.CreateSymbolicLink(Path.Combine(root, "escape"), outside);
        Assert.Null(PathConfinement.CombineInside(root, "escape/secret.txt"));
    }

    [Fact]
    public void NoRootsIsAnError()
    {
        Assert.Throws<ArgumentException>(() => new PathConfinement(["", "  "]));
    }
}
