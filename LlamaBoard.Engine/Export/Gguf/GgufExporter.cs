using LlamaBoard.Engine.Checkpoints;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Tokenization;

namespace LlamaBoard.Engine.Export.Gguf;

/// <summary>What a GGUF export wrote.</summary>
/// <param name="GgufPath">The .gguf file.</param>
/// <param name="ModelfilePath">The Ollama Modelfile next to it.</param>
/// <param name="Architecture">The llama.cpp architecture written.</param>
/// <param name="Warnings">Differences llama.cpp will show past some length, tensors stored in another type, an
/// unrecognised chat format.</param>
public sealed record GgufExportResult(string GgufPath, string ModelfilePath, string Architecture, IReadOnlyList<string> Warnings);

/// <summary>
/// Writes a plain (adapter-free) <see cref="DecoderModel"/> as one GGUF file for llama.cpp and Ollama, plus an
/// Ollama Modelfile: architecture and hyper-parameters (<see cref="GgufModelLayout"/>), the tokenizer
/// (<see cref="GgufVocabulary"/>), tensors in the chosen type. The model is checked against llama.cpp's graph first
/// (<see cref="GgufCompatibility"/>), so an export either loads as the same model or is refused with the reasons.
/// Files are written to temporary names and renamed when complete.
/// </summary>
public static class GgufExporter
{
    /// <summary>
    /// Writes <c>{name}-{type}.gguf</c> and a Modelfile into <paramref name="folder"/>. The tokenizer comes from
    /// <paramref name="tokenizerFolder"/> (tokenizer.json and tokenizer_config.json).
    /// </summary>
    /// <exception cref="GgufExportException">The architecture, a feature, the tokenizer or the type has no GGUF form.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; no file was left behind.</exception>
    public static GgufExportResult Export(DecoderModel model, string tokenizerFolder, string folder, GgmlType type, string name,
                                          GenerationConfig? generation = null, string? templateName = null,
                                          CancellationToken cancellation = default) =>
        Export(model, tokenizerFolder, folder, type, name, generation, templateName, cancellation, wrap: null);

    /// <summary>As the public overload; <paramref name="wrap"/> lets tests interpose on the output stream (full disk).</summary>
    internal static GgufExportResult Export(DecoderModel model, string tokenizerFolder, string folder, GgmlType type, string name,
                                            GenerationConfig? generation, string? templateName, CancellationToken cancellation,
                                            Func<Stream, Stream>? wrap)
    {
        if (!Enum.IsDefined(type))
            throw new GgufExportException($"GGUF tensor type {(uint)type} is not one this exporter writes; choose " +
                                          $"{string.Join(", ", Enum.GetNames<GgmlType>())}.");
        var config = model.Config;
        var architecture = GgufArchitectures.For(config.ModelType);
        var warnings = new List<string>(GgufCompatibility.Check(config, architecture));

        var tokenizer = LoadTokenizer(tokenizerFolder);
        var metadata = new GgufMetadata();
        metadata.Set("general.architecture", GgufValue.String(architecture.Name));
        metadata.Set("general.type", GgufValue.String("model"));
        metadata.Set("general.name", GgufValue.String(SafeName(name, tokenizer, warnings)));
        metadata.Set("general.file_type", GgufValue.UInt32(GgmlTypes.FileType(type)));
        if (GgmlTypes.IsQuantized(type)) metadata.Set("general.quantization_version", GgufValue.UInt32(2));
        metadata.Set("general.alignment", GgufValue.UInt32(GgufLayout.DefaultAlignment));
        GgufModelLayout.AddHyperparameters(metadata, config, architecture);
        GgufVocabulary.Add(metadata, tokenizer, tokenizerFolder, config.VocabSize);
        var tensors = GgufModelLayout.Tensors(model, architecture, type, warnings);

        string fileName = $"{name}-{type.ToString().ToUpperInvariant()}.gguf";
        string ggufPath = Path.Combine(folder, fileName);
        var format = OllamaModelfile.Recognise(templateName, tokenizer.ChatTemplate);
        var stops = tokenizer.EosTokenIds.Select(tokenizer.IdToToken).OfType<string>();
        var (modelfile, modelfileWarning) = OllamaModelfile.Build(fileName, format, stops, generation);
        if (modelfileWarning is not null) warnings.Add(modelfileWarning);

        string modelfilePath = Path.Combine(folder, OllamaModelfile.FileName);
        using (var files = AtomicFileSet.Create())
        {
            files.Stage(ggufPath, stream =>
            {
                using var output = wrap?.Invoke(stream) ?? new NonClosingStream(stream);
                GgufWriter.Write(output, metadata, tensors, cancellation);
                output.Flush();
            });
            files.Stage(modelfilePath, stream => stream.Write(new System.Text.UTF8Encoding(false).GetBytes(modelfile)));
            cancellation.ThrowIfCancellationRequested();
            files.Commit();
        }
        return new GgufExportResult(ggufPath, modelfilePath, architecture.Name, warnings);
    }

    /// <summary>
    /// llama.cpp sets token attributes by model name: a general.name containing "phi3" or "phi-3" makes it look up
    /// Phi-3's &lt;s&gt;, &lt;/s&gt;, &lt;unk&gt; and &lt;|endoftext|&gt;, and loading fails when one is missing. Such
    /// a name is written without the "phi" part then.
    /// </summary>
    internal static string SafeName(string name, HfTokenizer tokenizer, List<string> warnings)
    {
        bool phiName = name.Contains("phi3", StringComparison.OrdinalIgnoreCase) || name.Contains("phi-3", StringComparison.OrdinalIgnoreCase);
        string[] needed = ["<s>", "</s>", "<unk>", "<|endoftext|>"];
        if (!phiName || needed.All(t => tokenizer.TokenToId(t) is not null)) return name;
        string safe = System.Text.RegularExpressions.Regex.Replace(name, "phi-?3", "model", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        warnings.Add($"general.name is '{safe}' instead of '{name}': llama.cpp treats names containing phi3 as Phi-3 and expects " +
                     $"its tokens {string.Join(", ", needed.Where(t => tokenizer.TokenToId(t) is null))}, which this tokenizer lacks.");
        return safe;
    }

    static HfTokenizer LoadTokenizer(string folder)
    {
        string file = Path.Combine(folder, HfTokenizer.TokenizerFile);
        if (!File.Exists(file))
            throw new GgufExportException($"A GGUF file needs the model's tokenizer, but {file} does not exist. " +
                                          "Copy the tokenizer files (tokenizer.json, tokenizer_config.json) into the model folder.");
        return HfTokenizer.Load(folder);
    }

    /// <summary>Keeps the staged file open for the file set, which flushes and closes it.</summary>
    sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);
    }
}
