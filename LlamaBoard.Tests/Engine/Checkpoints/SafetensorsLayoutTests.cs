using System.Text.Json;
using LlamaBoard.Engine.Checkpoints;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Checkpoints;

/// <summary>Hugging Face's weight layout: one file when it fits, otherwise shards plus an index; reading through it.</summary>
public class SafetensorsLayoutTests
{
    public SafetensorsLayoutTests() => Torch.EnsureReady();

    static List<(string, Tensor)> Weights() =>
    [
        ("model.embed_tokens.weight", arange(64, dtype: ScalarType.Float32).reshape(16, 4)),      // 256 bytes
        ("model.layers.0.mlp.up_proj.weight", ones(8, 4)),                                        // 128
        ("model.layers.0.input_layernorm.weight", full(4, 2.0f)),                                 // 16
        ("lm_head.weight", arange(64, dtype: ScalarType.Float32).reshape(16, 4).neg()),          // 256
    ];

    [Fact]
    public void Weights_that_fit_are_written_as_a_single_model_safetensors_without_an_index()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var files = SafetensorsLayout.Save(dir.Path, Weights());
        Assert.Equal([dir.File("model.safetensors")], files);
        Assert.False(File.Exists(dir.File("model.safetensors.index.json")));
        using var file = SafetensorsFile.Open(files[0]);
        Assert.Equal("pt", file.Header.Metadata["format"]);
    }

    [Fact]
    public void Shards_fill_in_order_and_the_index_has_the_transformers_layout()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var files = SafetensorsLayout.Save(dir.Path, Weights(), maxShardBytes: 300);
        // 256 | 128 + 16 | 256: the third tensor still fits the second shard (144 bytes), the fourth does not.
        Assert.Equal(
            ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
             "model-00003-of-00003.safetensors", "model.safetensors.index.json"],
            files.Select(f => Path.GetFileName(f)!).ToArray());

        string index = File.ReadAllText(dir.File("model.safetensors.index.json"));
        string expected = """
            {
              "metadata": {
                "total_size": 656
              },
              "weight_map": {
                "lm_head.weight": "model-00003-of-00003.safetensors",
                "model.embed_tokens.weight": "model-00001-of-00003.safetensors",
                "model.layers.0.input_layernorm.weight": "model-00002-of-00003.safetensors",
                "model.layers.0.mlp.up_proj.weight": "model-00002-of-00003.safetensors"
              }
            }

            """;
        Assert.Equal(expected.ReplaceLineEndings("\n"), index);
    }

    [Fact]
    public void A_tensor_larger_than_the_limit_gets_a_shard_of_its_own()
    {
        using var scope = NewDisposeScope();
        var pending = Weights().Select(w => PendingTensor.Of(w.Item1, w.Item2)).ToList();
        // fp32: 256 | 128 | 16 | 256 (each pair would exceed 100 bytes)
        Assert.Equal([1, 1, 1, 1], SafetensorsLayout.Plan(pending, maxShardBytes: 100, dtype: null).Select(s => s.Count));
        // bf16 halves them: 128 | 64 + 8 | 128
        Assert.Equal([1, 2, 1], SafetensorsLayout.Plan(pending, maxShardBytes: 100, dtype: ScalarType.BFloat16).Select(s => s.Count));
    }

    [Fact]
    public void Sharded_weights_read_back_through_the_index_in_any_dtype()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var weights = Weights();
        SafetensorsLayout.Save(dir.Path, weights, maxShardBytes: 150, dtype: ScalarType.BFloat16);
        using var checkpoint = SafetensorsCheckpoint.Open(dir.Path);
        Assert.Equal(3, checkpoint.Files.Count);
        Assert.Equal(weights.Select(w => w.Item1).Order(), checkpoint.Names.Order());
        foreach (var (name, tensor) in weights)
        {
            Assert.Equal("BF16", checkpoint.Info(name).DType.Name);
            Assert.True(checkpoint.Read(name, ScalarType.Float32).Equals(tensor), name);
        }
    }

    [Fact]
    public void Saving_again_with_fewer_shards_removes_the_old_shards_and_leaves_no_temporary_files()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        SafetensorsLayout.Save(dir.Path, Weights(), maxShardBytes: 300);
        File.WriteAllText(dir.File("config.json"), "{}");
        SafetensorsLayout.Save(dir.Path, Weights());
        Assert.Equal(["config.json", "model.safetensors"],
                     Directory.GetFiles(dir.Path).Select(f => Path.GetFileName(f)!).Order().ToArray());
    }

    [Fact]
    public void An_index_that_points_to_a_missing_shard_or_tensor_names_both()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        SafetensorsLayout.Save(dir.Path, Weights(), maxShardBytes: 300);
        string indexPath = dir.File("model.safetensors.index.json");
        string original = File.ReadAllText(indexPath);

        File.WriteAllText(indexPath, original.Replace("model-00003-of-00003", "model-00009-of-00003"));
        var missingFile = Assert.Throws<CheckpointFormatException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Equal("lm_head.weight", missingFile.TensorName);
        Assert.Contains("model-00009-of-00003.safetensors", missingFile.Message);

        File.WriteAllText(indexPath, original.Replace(
            "\"lm_head.weight\": \"model-00003-of-00003", "\"lm_head.weight\": \"model-00001-of-00003"));
        var wrongShard = Assert.Throws<CheckpointFormatException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Equal("lm_head.weight", wrongShard.TensorName);
        Assert.EndsWith("model-00001-of-00003.safetensors", wrongShard.FilePath);

        File.WriteAllText(indexPath, "{\"weight_map\": {\"a\": \"../../etc/passwd\"}}");
        Assert.Contains("plain file name",
            Assert.Throws<CheckpointFormatException>(() => SafetensorsCheckpoint.Open(dir.Path)).Message);

        File.WriteAllText(indexPath, "{not json");
        Assert.Contains("not valid JSON",
            Assert.Throws<CheckpointFormatException>(() => SafetensorsCheckpoint.Open(dir.Path)).Message);
    }

    [Fact]
    public void A_folder_without_safetensors_weights_says_what_it_expected()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("pytorch_model.bin"), "x");
        var error = Assert.Throws<FileNotFoundException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Contains("model.safetensors", error.Message);
        Assert.Contains(".bin", error.Message);
    }

    [Theory]
    [InlineData("5GB", 5_000_000_000L)]
    [InlineData("500MB", 500_000_000L)]
    [InlineData("2GiB", 2L << 30)]
    [InlineData("1.5 KB", 1500L)]
    [InlineData("1234", 1234L)]
    public void Sizes_parse_with_transformers_units(string text, long bytes) =>
        Assert.Equal(bytes, SafetensorsLayout.ParseSize(text));

    [Fact]
    public void Index_json_is_parseable_and_total_size_counts_stored_bytes()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        SafetensorsLayout.Save(dir.Path, Weights(), maxShardBytes: 300, dtype: ScalarType.Float16);
        using var doc = JsonDocument.Parse(File.ReadAllText(dir.File("model.safetensors.index.json")));
        Assert.Equal(656 / 2, doc.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
    }
}
