using LlamaBoard.Engine.Runtime;

namespace LlamaBoard.Tests.Engine.Runtime;

/// <summary>
/// The libstdc++ repair, checked on the untouched library as NuGet delivers it (not on the output copy, which
/// the runtime may already have repaired).
/// </summary>
public class ElfVersionNeedsTests
{
    static string PristineBridge()
    {
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string path = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(path), $"the TorchSharp package should be restored at {path}");
        return path;
    }

    [Fact]
    public void Pristine_bridge_needs_glibcxx_3_4_32_only_for_the_ios_base_marker()
    {
        var needs = ElfVersionNeeds.Read(PristineBridge());

        var glibcxx32 = Assert.Single(needs, n => n.VersionName == "GLIBCXX_3.4.32");
        Assert.Equal("libstdc++.so.6", glibcxx32.LibraryName);
        Assert.False(glibcxx32.IsWeak);
        Assert.Equal(["_ZSt21ios_base_library_initv"], glibcxx32.Symbols);
        // Every other need is backed by real symbols (or already weak), so the repair must leave it alone.
        var repairable = ElfVersionNeeds.MarkerOnlyNeeds(needs);
        Assert.Equal([glibcxx32], repairable);
        Assert.Contains(needs, n => n.VersionName == "GLIBCXX_3.4.30" || n.VersionName == "GLIBCXX_3.4.29" || n.VersionName == "GLIBCXX_3.4.26");
    }

    [Fact]
    public void Weakening_changes_exactly_one_flag()
    {
        byte[] original = File.ReadAllBytes(PristineBridge());
        var needs = ElfVersionNeeds.Read(original, "bridge");
        byte[] patched = ElfVersionNeeds.WithWeakNeeds(original, ElfVersionNeeds.MarkerOnlyNeeds(needs));

        int differences = original.Zip(patched).Count(pair => pair.First != pair.Second);
        Assert.Equal(1, differences);
        var after = ElfVersionNeeds.Read(patched, "patched");
        Assert.True(after.Single(n => n.VersionName == "GLIBCXX_3.4.32").IsWeak);
        Assert.Equal(needs.Where(n => n.VersionName != "GLIBCXX_3.4.32").Select(n => (n.VersionName, n.IsWeak)),
                     after.Where(n => n.VersionName != "GLIBCXX_3.4.32").Select(n => (n.VersionName, n.IsWeak)));
        Assert.Empty(ElfVersionNeeds.MarkerOnlyNeeds(after));
    }

    [Fact]
    public void Truncated_file_is_a_clear_error_naming_the_file()
    {
        byte[] original = File.ReadAllBytes(PristineBridge());
        var error = Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.Read(original.AsSpan(0, 4096), "cut.so"));
        Assert.Contains("cut.so", error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void Non_elf_file_is_rejected()
    {
        var error = Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.Read("hello, world, this is not a library, really not"u8.ToArray(), "text.so"));
        Assert.Equal("text.so: not an ELF file.", error.Message);
    }

    [Fact]
    public void Loader_errors_are_explained_with_cause_and_remedy()
    {
        var old = NativeTorchLoader.Explain("/x/libLibTorchSharp.so: /lib/libstdc++.so.6: version `GLIBCXX_3.4.33' not found (required by /x/libLibTorchSharp.so)");
        Assert.Contains("libstdc++", old.Message);
        Assert.Contains("GLIBCXX_3.4.33", old.Message);
        Assert.Contains("Install a newer libstdc++", old.Message);

        var missing = NativeTorchLoader.Explain("libtorch_cpu.so: cannot open shared object file: No such file or directory");
        Assert.Contains("dotnet build", missing.Message);
    }
}
