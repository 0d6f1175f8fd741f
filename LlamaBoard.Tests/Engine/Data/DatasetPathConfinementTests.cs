using LlamaBoard.Engine.Data;

namespace LlamaBoard.Tests.Engine.Data;

/// <summary>dataset_info.json's file_name cannot reach files outside dataset_dir: '..', absolute paths and links are refused.</summary>
public sealed class DatasetPathConfinementTests : IDisposable
{
    readonly TempDataFolder parent = new();
    readonly string dataDir;

    public DatasetPathConfinementTests()
    {
        dataDir = Path.Combine(parent.Path, "data");
        parent.Write("secret.json", """[{"instruction": "secret", "output": "leaked"}]""");
        parent.Write("data/ok.json", """[{"instruction": "hi", "output": "there"}]""");
    }

    public void Dispose() => parent.Dispose();

    DatasetRegistry Registry(string fileName) =>
        WriteInfo("""{"ok": {"file_name": "ok.json"}, "bad": {"file_name": """ + System.Text.Json.JsonSerializer.Serialize(fileName) + "}}");

    DatasetRegistry WriteInfo(string json)
    {
        File.WriteAllText(Path.Combine(dataDir, DatasetRegistry.FileName), json);
        return DatasetRegistry.Load(dataDir);
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("../secret.json")]
    [InlineData("sub/../../secret.json")]
    [InlineData("/etc/passwd")]
    public void A_file_name_leaving_dataset_dir_is_refused_naming_the_entry(string fileName)
    {
        var registry = Registry(fileName);

        var error = Assert.Throws<DatasetException>(() => registry.Get("bad"));

        Assert.Contains("entry 'bad'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'file_name'", error.Message, StringComparison.Ordinal);
        Assert.Contains(fileName, error.Message, StringComparison.Ordinal);
        Assert.Contains("outside dataset_dir", error.Message, StringComparison.Ordinal);
        // The other entries of the folder still work.
        Assert.Equal("ok.json", registry.Get("ok").Location);
    }

    [Fact]
    public void A_file_name_through_a_link_to_outside_is_refused()
    {
        File.CreateSymbolicLink(Path.Combine(dataDir, "alias.json"), Path.Combine(parent.Path, "secret.json"));
        var registry = Registry("alias.json");

        var error = Assert.Throws<DatasetException>(() => registry.Get("bad"));

        Assert.Contains("'alias.json' leads outside dataset_dir", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dataset_folder_holding_a_link_to_outside_is_refused_naming_the_file()
    {
        parent.Write("data/many/part1.json", """[{"instruction": "a", "output": "b"}]""");
        File.CreateSymbolicLink(Path.Combine(dataDir, "many", "part2.json"), Path.Combine(parent.Path, "secret.json"));
        var registry = Registry("many");

        var error = Assert.Throws<DatasetException>(() => DatasetLoader.ResolveFiles(registry, registry.Get("bad")));

        Assert.Contains("'part2.json'", error.Message, StringComparison.Ordinal);
        Assert.Contains("outside dataset_dir", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attributes_made_in_code_are_checked_again_when_files_are_resolved()
    {
        var registry = Registry("ok.json");
        var forged = registry.Get("ok") with { Location = "../secret.json" };

        var error = Assert.Throws<DatasetException>(() => DatasetLoader.ResolveFiles(registry, forged));

        Assert.Contains("'../secret.json' leads outside dataset_dir", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_inside_dataset_dir_including_nested_and_dotdot_that_stays_inside_resolve()
    {
        parent.Write("data/nested/x.json", """[{"instruction": "a", "output": "b"}]""");
        var registry = Registry("nested/../nested/x.json");

        var files = DatasetLoader.ResolveFiles(registry, registry.Get("bad"));

        Assert.Equal([Path.Combine(dataDir, "nested", "x.json")], files);
    }
}
