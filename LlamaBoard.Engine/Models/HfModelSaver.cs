using LlamaBoard.Engine.Checkpoints;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>
/// Saves a <see cref="DecoderModel"/> as a Hugging Face folder: config.json as transformers writes it for the
/// family, generation_config.json, and the weights (through the family mapper, e.g. re-fused for Phi-3) as
/// model.safetensors or shards plus index, in a chosen dtype. Every file is written atomically.
/// </summary>
public static class HfModelSaver
{
    /// <summary>Tokenizer files copied by <see cref="CopyTokenizerFiles"/>, when present.</summary>
    public static readonly IReadOnlyList<string> TokenizerFiles =
        ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model", "vocab.json",
         "merges.txt", "added_tokens.json", "chat_template.jinja", "chat_template.json"];

    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="directory"/> in <paramref name="dtype"/> (default: the
    /// model's), with shards of at most <paramref name="maxShardBytes"/>, and returns the files written.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model's parameters are not those of its config (for example
    /// adapters still wrapped around projections: merge or unwrap them first).</exception>
    public static IReadOnlyList<string> Save(DecoderModel model, string directory, ScalarType? dtype = null,
                                             long maxShardBytes = SafetensorsLayout.DefaultMaxShardBytes,
                                             GenerationConfig? generation = null)
    {
        var config = model.Config;
        var family = ModelFamilies.Get(config.ModelType);
        var parameters = model.NamedParameters().Select(p => (p.Name, (Tensor)p.Parameter)).ToList();
        CheckNames(model, parameters);

        var type = dtype ?? model.DType;
        // Weights, config.json and generation_config.json are staged together and renamed into place at the end.
        var companions = new List<(string, string)>
        {
            (HfModelLoader.ConfigFileName, HfConfigWriter.ToJson(config, type)),
            (GenerationConfig.FileName, (generation ?? GenerationConfig.FromModelConfig(config)).ToJson()),
        };
        var written = SafetensorsLayout.Save(directory, family.Mapper.Targets(config, parameters), maxShardBytes, type,
                                             companions: companions);
        return written;
    }

    /// <summary>Copies the tokenizer files present in <paramref name="from"/> to <paramref name="to"/>; returns their names.</summary>
    public static IReadOnlyList<string> CopyTokenizerFiles(string from, string to)
    {
        var copied = new List<string>();
        foreach (string name in TokenizerFiles)
        {
            string source = Path.Combine(from, name);
            if (!File.Exists(source)) continue;
            AtomicFile.Write(Path.Combine(to, name), stream =>
            {
                using var input = File.OpenRead(source);
                input.CopyTo(stream);
            });
            copied.Add(name);
        }
        return copied;
    }

    static void CheckNames(DecoderModel model, List<(string Name, Tensor)> parameters)
    {
        // The parameters a plain model of this config has, built on the meta device (no memory).
        using var blank = DecoderModel.Create(model.Config, ScalarType.Float32, META);
        var expected = blank.NamedParameters().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var actual = parameters.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var extra = actual.Where(n => !expected.Contains(n)).ToList();
        var absent = expected.Where(n => !actual.Contains(n)).ToList();
        if (extra.Count + absent.Count > 0)
            throw new InvalidOperationException(
                "The model's parameters are not those of a plain " + model.Config.ModelType + " model" +
                (extra.Count > 0 ? $"; extra: {string.Join(", ", extra.Take(6))}" : "") +
                (absent.Count > 0 ? $"; absent: {string.Join(", ", absent.Take(6))}" : "") +
                ". Merge or remove adapters before saving the base model.");
    }
}
