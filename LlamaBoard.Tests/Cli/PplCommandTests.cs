using System.Text.Json.Nodes;
using LlamaBoard.Engine.Models;
using LlamaBoard.Tests.Engine.Data;

namespace LlamaBoard.Tests.Cli;

public sealed class PplCommandTests
{
    [Fact]
    public void Ppl_scores_each_line_of_a_text_file_as_json()
    {
        Torch.EnsureReady();
        using var dir = new TempDirectory();
        string model = dir.File("model");
        DemoModel.EnsureCreated(model);
        string text = dir.File("lines.txt");
        File.WriteAllLines(text, ["first line of text", "", "second line, a little longer than the first"]);

        var (code, output, error) = CliTestKit.Run("ppl", "--model", model, "--text-file", text, "--json");

        Assert.True(code == 0, error);
        var root = JsonNode.Parse(output)!;
        Assert.Equal(2, (int)root["scored"]!);
        Assert.Equal(1, (int)root["skipped"]!);
        var items = root["items"]!.AsArray();
        Assert.Equal([0, 2], items.Select(i => (int)i!["index"]!));
        // A random 512-token model: perplexity near the vocabulary size, far from 1.
        Assert.All(items, i => Assert.InRange((double)i!["perplexity"]!, 20, 5000));
    }

    [Fact]
    public void Ppl_scores_dataset_responses()
    {
        Torch.EnsureReady();
        using var dir = new TempDirectory();
        string model = dir.File("model");
        DemoModel.EnsureCreated(model);

        var (code, output, error) = CliTestKit.Run("ppl", "--model", model, "--dataset", "identity", "--dataset-dir",
            RepositoryPaths.DemoData, "--template", "qwen3", "--max-samples", "3", "--cutoff-len", "256");

        Assert.True(code == 0, error);
        Assert.Contains("example 0", output, StringComparison.Ordinal);
        Assert.Contains("example 2", output, StringComparison.Ordinal);
        Assert.Contains("over 3 items", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Ppl_names_the_missing_file_and_asks_for_one_input()
    {
        using var dir = new TempDirectory();
        string missing = dir.File("nope.txt");

        var (code, _, error) = CliTestKit.Run("ppl", "--model", "whatever", "--text-file", missing);
        Assert.NotEqual(0, code);
        Assert.Contains(missing, error, StringComparison.Ordinal);

        (code, _, error) = CliTestKit.Run("ppl", "--model", "whatever");
        Assert.NotEqual(0, code);
        Assert.Contains("exactly one of --text-file or --dataset", error, StringComparison.Ordinal);
    }
}
