using LlamaBoard.Engine.Training;

namespace LlamaBoard.Tests.Engine.Training;

/// <summary>Folders and files appear complete or not at all.</summary>
public class AtomicDirectoryTests
{
    static string TempRoot() => Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "lb-atomic-" + Guid.NewGuid().ToString("N"))).FullName;

    [Fact]
    public void A_failing_write_leaves_the_previous_folder_intact_and_no_leftovers()
    {
        string root = TempRoot();
        try
        {
            string target = Path.Combine(root, "checkpoint-5");
            AtomicDirectory.Write(target, dir => File.WriteAllText(Path.Combine(dir, "a.txt"), "first"));
            Assert.Throws<InvalidOperationException>(() => AtomicDirectory.Write(target, dir =>
            {
                File.WriteAllText(Path.Combine(dir, "a.txt"), "half");
                throw new InvalidOperationException("disk full");
            }));
            Assert.Equal("first", File.ReadAllText(Path.Combine(target, "a.txt")));
            Assert.Equal([target], Directory.GetDirectories(root));

            AtomicDirectory.Write(target, dir => File.WriteAllText(Path.Combine(dir, "b.txt"), "second"));
            Assert.Equal(["b.txt"], Directory.GetFiles(target).Select(Path.GetFileName));
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void Refuses_to_overwrite_a_non_empty_folder_when_asked_not_to()
    {
        string root = TempRoot();
        try
        {
            string target = Path.Combine(root, "export");
            Directory.CreateDirectory(target);
            File.WriteAllText(Path.Combine(target, "keep.txt"), "x");
            var error = Assert.Throws<IOException>(() => AtomicDirectory.Write(target, _ => { }, overwrite: false));
            Assert.Contains("not empty", error.Message);
            Assert.True(File.Exists(Path.Combine(target, "keep.txt")));
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void Leftovers_of_interrupted_writes_are_cleaned()
    {
        string root = TempRoot();
        try
        {
            Directory.CreateDirectory(Path.Combine(root, ".checkpoint-9.tmp-1-abc"));
            AtomicDirectory.CleanUp(root);
            Assert.Empty(Directory.GetDirectories(root));
        }
        finally { Directory.Delete(root, true); }
    }
}
