using System.Text.Json.Nodes;
using LlamaBoard.Engine.Tokenization;

namespace LlamaBoard.Tests.Engine.Tokenization;

/// <summary>Broken or unsupported tokenizer folders give errors that name the file, the place and the problem.</summary>
public sealed class MalformedTokenizerTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("llamaboard-bad-tok-").FullName;

    public MalformedTokenizerTests() => TinyTokenizer.Write(folder);

    public void Dispose() => Directory.Delete(folder, recursive: true);

    string TokenizerJson => Path.Combine(folder, "tokenizer.json");

    InvalidDataException LoadFails() => Assert.Throws<InvalidDataException>(() => HfTokenizer.Load(folder));

    void Edit(Action<JsonObject> edit)
    {
        var root = JsonNode.Parse(File.ReadAllText(TokenizerJson))!.AsObject();
        edit(root);
        File.WriteAllText(TokenizerJson, root.ToJsonString());
    }

    [Fact]
    public void Bad_json()
    {
        File.WriteAllText(TokenizerJson, """{ "model": { "type": "BPE", """);
        var e = LoadFails();
        Assert.Contains(TokenizerJson, e.Message);
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void Missing_model()
    {
        Edit(root => root.Remove("model"));
        var e = LoadFails();
        Assert.Contains(TokenizerJson, e.Message);
        Assert.Contains("'model'", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void Unknown_model_type()
    {
        Edit(root => root["model"]!["type"] = "Unigram");
        var e = LoadFails();
        Assert.Contains(TokenizerJson, e.Message);
        Assert.Contains("model type 'Unigram' is not supported", e.Message);
    }

    [Fact]
    public void Merge_referencing_an_unknown_token()
    {
        Edit(root => root["model"]!["merges"]![3] = new JsonArray("no-such-token", "a"));
        var e = LoadFails();
        Assert.Contains(TokenizerJson, e.Message);
        Assert.Contains("model.merges[3]", e.Message);
        Assert.Contains("\"no-such-token\", which is not in model.vocab", e.Message);
    }

    [Fact]
    public void Merge_in_a_wrong_shape()
    {
        Edit(root => root["model"]!["merges"]![0] = "a b c");
        var e = LoadFails();
        Assert.Contains("model.merges[0]", e.Message);
    }

    [Fact]
    public void Unsupported_pre_tokenizer_lists_the_supported_ones()
    {
        Edit(root => root["pre_tokenizer"]!["pretokenizers"]![1] = new JsonObject { ["type"] = "UnicodeScripts" });
        var e = LoadFails();
        Assert.Contains("pre_tokenizer.pretokenizers[1]", e.Message);
        Assert.Contains("'UnicodeScripts' is not supported", e.Message);
        Assert.Contains("ByteLevel", e.Message);
    }

    [Fact]
    public void Regex_that_dotnet_cannot_compile()
    {
        Edit(root => root["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"] = new JsonObject { ["Regex"] = "(unclosed" });
        var e = LoadFails();
        Assert.Contains("pre_tokenizer.pretokenizers[0].pattern", e.Message);
        Assert.Contains("regular expression", e.Message);
    }

    [Fact]
    public void Added_token_without_an_id()
    {
        Edit(root => root["added_tokens"]![0]!.AsObject().Remove("id"));
        var e = LoadFails();
        Assert.Contains("added_tokens[0].id", e.Message);
    }

    [Fact]
    public void Bad_tokenizer_config_names_that_file()
    {
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), "[1, 2");
        var e = LoadFails();
        Assert.Contains("tokenizer_config.json", e.Message);
    }

    [Fact]
    public void Wrong_value_type_in_the_config()
    {
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """{ "add_bos_token": "yes" }""");
        var e = LoadFails();
        Assert.Contains("tokenizer_config.json", e.Message);
        Assert.Contains("add_bos_token", e.Message);
    }

    [Fact]
    public void Missing_tokenizer_json()
    {
        File.Delete(TokenizerJson);
        var e = Assert.Throws<FileNotFoundException>(() => HfTokenizer.Load(folder));
        Assert.Contains(TokenizerJson, e.Message);
    }

    [Fact]
    public void Missing_folder()
    {
        Assert.Throws<DirectoryNotFoundException>(() => HfTokenizer.Load(Path.Combine(folder, "nope")));
    }
}
