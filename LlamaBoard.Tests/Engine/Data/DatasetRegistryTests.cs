using LlamaBoard.Engine.Data;

namespace LlamaBoard.Tests.Engine.Data;

public class DatasetRegistryTests
{
    [Fact]
    public void Entries_get_LLaMA_Factory_defaults_and_explicit_columns_replace_them()
    {
        using var folder = new TempDataFolder();
        folder.Write("dataset_info.json", """
        {
          "plain": {"file_name": "a.json"},
          "chat": {"file_name": "b.jsonl", "formatting": "sharegpt", "columns": {"messages": "turns", "system": "sys"},
                   "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}},
          "prefs": {"file_name": "c.json", "ranking": true, "columns": {"prompt": "q", "chosen": "good", "rejected": "bad"}},
          "oai": {"file_name": "d.json", "formatting": "openai", "num_samples": 5, "split": "train"}
        }
        """);
        var registry = DatasetRegistry.Load(folder.Path);
        Assert.Equal(["plain", "chat", "prefs", "oai"], registry.Names);

        var plain = registry.Get("plain");
        Assert.Equal(DatasetFormatting.Alpaca, plain.Formatting);
        Assert.Equal(("instruction", "input", "output"), (plain.Columns.Prompt, plain.Columns.Query, plain.Columns.Response));
        Assert.Equal("from", plain.Tags.RoleTag);

        var chat = registry.Get("chat");
        Assert.Equal("turns", chat.Columns.Messages);
        Assert.Equal("sys", chat.Columns.System);
        Assert.Null(chat.Columns.Prompt); // once "columns" is given, unlisted roles are unused
        Assert.Equal(("role", "content", "user", "assistant", "observation"),
                     (chat.Tags.RoleTag, chat.Tags.ContentTag, chat.Tags.UserTag, chat.Tags.AssistantTag, chat.Tags.ObservationTag));

        var prefs = registry.Get("prefs");
        Assert.True(prefs.Ranking);
        Assert.Equal(("q", "good", "bad", null), (prefs.Columns.Prompt, prefs.Columns.Chosen, prefs.Columns.Rejected, prefs.Columns.Query));

        var oai = registry.Get("oai");
        Assert.Equal("messages", oai.Columns.Messages);
        Assert.Equal(("role", "content", "tool"), (oai.Tags.RoleTag, oai.Tags.ContentTag, oai.Tags.ObservationTag));
        Assert.Equal(5, oai.NumSamples);
    }

    [Fact]
    public void Unknown_name_suggests_the_closest_entry()
    {
        using var folder = new TempDataFolder();
        folder.Write("dataset_info.json", """{"alpaca_demo": {"file_name": "a.json"}, "identity": {"file_name": "i.json"}}""");
        var e = Assert.Throws<DatasetException>(() => DatasetRegistry.Load(folder.Path).Get("alpaca_dem"));
        Assert.Contains("'alpaca_dem' is not defined", e.Message);
        Assert.Contains("did you mean 'alpaca_demo'?", e.Message);
    }

    [Theory]
    [InlineData("""{"x": {"file_name": "a.json", "formatting": "alpacca"}}""", "key 'formatting': unknown value 'alpacca'")]
    [InlineData("""{"x": {"file_name": "a.json", "ranking": "yes"}}""", "key 'ranking': expected true or false")]
    [InlineData("""{"x": {"file_name": "a.json", "columns": {"promt": "q"}}}""", "key 'columns.promt': unknown column role")]
    [InlineData("""{"x": {"file_name": "a.json", "columns": {"images": "img"}}}""", "image, video and audio datasets are not supported")]
    [InlineData("""{"x": {"file_name": "a.json", "tags": {"role_tag": 3}}}""", "key 'tags.role_tag': expected a string")]
    [InlineData("""{"x": {"formatting": "alpaca"}}""", "entry 'x' has no file_name")]
    [InlineData("""{"x": {"file_name": "a.json", "num_samples": -2}}""", "key 'num_samples': expected a positive whole number")]
    public void Malformed_entries_are_reported_with_their_key(string info, string expected)
    {
        using var folder = new TempDataFolder();
        folder.Write("dataset_info.json", info);
        var e = Assert.Throws<DatasetException>(() => DatasetRegistry.Load(folder.Path).Get("x"));
        Assert.Contains(expected, e.Message);
        Assert.Contains("dataset_info.json", e.Message);
    }

    [Fact]
    public void Invalid_json_names_line_and_column()
    {
        using var folder = new TempDataFolder();
        folder.Write("dataset_info.json", "{\n  \"x\": {\"file_name\": \"a.json\",}\n}");
        var e = Assert.Throws<DatasetException>(() => DatasetRegistry.Load(folder.Path));
        Assert.Equal(2, e.Line);
        Assert.Contains("line 2", e.Message);
    }

    [Fact]
    public void Missing_folder_or_file_says_what_to_do()
    {
        using var folder = new TempDataFolder();
        var e = Assert.Throws<DatasetException>(() => DatasetRegistry.Load(folder.Path));
        Assert.Contains("dataset_info.json does not exist", e.Message);
        e = Assert.Throws<DatasetException>(() => DatasetRegistry.Load(Path.Combine(folder.Path, "nope")));
        Assert.Contains("does not exist", e.Message);
        Assert.Contains("dataset_dir", e.Message);
    }

    [Fact]
    public void Hub_entries_ask_for_a_download_when_used()
    {
        using var folder = new TempDataFolder();
        folder.Write("dataset_info.json", """{"hub": {"hf_hub_url": "someone/some-data"}, "local": {"file_name": "l.json"}}""");
        var registry = DatasetRegistry.Load(folder.Path);
        var hub = registry.Get("hub");
        Assert.Equal(DatasetSource.HuggingFaceHub, hub.Source);
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.ResolveFiles(registry, hub));
        Assert.Contains("Hugging Face hub", e.Message);
        Assert.Contains("download the dataset first", e.Message);
        Assert.Contains("someone/some-data", e.Message);
    }
}
