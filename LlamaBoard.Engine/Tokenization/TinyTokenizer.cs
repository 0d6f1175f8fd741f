using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LlamaBoard.Engine.Tokenization;

/// <summary>
/// Writes a small, self-contained byte-level BPE tokenizer in Hugging Face's format (tokenizer.json,
/// tokenizer_config.json with a ChatML chat template, special_tokens_map.json), for tiny test and demo models
/// that need nothing from the internet. It is laid out like Qwen's: NFC, the Qwen split pattern, byte-level
/// pieces, the 256 byte tokens (ids 0-255), merges learned from <see cref="TinyCorpus"/>, then
/// &lt;|endoftext|&gt; (pad), &lt;|im_start|&gt;, &lt;|im_end|&gt; (eos), &lt;think&gt; and &lt;/think&gt;.
/// Being byte-level, it encodes any Unicode text losslessly.
/// </summary>
public static class TinyTokenizer
{
    /// <summary>The vocabulary size, special tokens included (kept at 512 so tiny models stay tiny).</summary>
    public const int VocabSize = 512;

    const string SplitRegex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Special tokens in id order after the learned vocabulary; <c>true</c> marks HF "special" ones.</summary>
    static readonly (string Content, bool Special)[] Specials =
        [("<|endoftext|>", true), ("<|im_start|>", true), ("<|im_end|>", true), ("<think>", false), ("</think>", false)];

    const string ChatTemplate =
        "{%- for message in messages %}" +
        "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
        "{%- endfor %}" +
        "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

    static readonly Lazy<BpeTrainer.Result> Trained = new(() =>
    {
        string text = TinyCorpus.Text.Normalize(NormalizationForm.FormC);
        var words = SplitPattern.Regex(SplitRegex).Split(text, SplitBehavior.Isolated, invert: false)
            .Select(p => ByteLevelAlphabet.Encode(text[p.Start..p.End]));
        var result = BpeTrainer.Train(words, VocabSize - 256 - Specials.Length);
        if (result.Vocab.Count + Specials.Length != VocabSize)
            throw new InvalidOperationException($"The tiny tokenizer's corpus yielded {result.Vocab.Count - 256} merges; {VocabSize - 256 - Specials.Length} are needed.");
        return result;
    });

    static readonly JsonWriterOptions WriterOptions = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Writes the tokenizer files into <paramref name="folder"/> (created if missing; each file replaced
    /// atomically) and returns the vocabulary size to give the model's embedding.
    /// </summary>
    public static int Write(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        Directory.CreateDirectory(folder);
        var trained = Trained.Value;
        int firstSpecial = trained.Vocab.Count;

        WriteAtomically(Path.Combine(folder, HfTokenizer.TokenizerFile), w => WriteTokenizerJson(w, trained, firstSpecial));
        WriteAtomically(Path.Combine(folder, TokenizerConfig.ConfigFile), w => WriteConfig(w, firstSpecial));
        WriteAtomically(Path.Combine(folder, TokenizerConfig.SpecialTokensMapFile), WriteSpecialTokensMap);
        return VocabSize;
    }

    static void WriteTokenizerJson(Utf8JsonWriter w, BpeTrainer.Result trained, int firstSpecial)
    {
        w.WriteStartObject();
        w.WriteString("version", "1.0");
        w.WriteNull("truncation");
        w.WriteNull("padding");
        w.WriteStartArray("added_tokens");
        for (int i = 0; i < Specials.Length; i++)
        {
            w.WriteStartObject();
            w.WriteNumber("id", firstSpecial + i);
            w.WriteString("content", Specials[i].Content);
            w.WriteBoolean("single_word", false);
            w.WriteBoolean("lstrip", false);
            w.WriteBoolean("rstrip", false);
            w.WriteBoolean("normalized", false);
            w.WriteBoolean("special", Specials[i].Special);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartObject("normalizer");
        w.WriteString("type", "NFC");
        w.WriteEndObject();

        w.WriteStartObject("pre_tokenizer");
        w.WriteString("type", "Sequence");
        w.WriteStartArray("pretokenizers");
        w.WriteStartObject();
        w.WriteString("type", "Split");
        w.WriteStartObject("pattern");
        w.WriteString("Regex", SplitRegex);
        w.WriteEndObject();
        w.WriteString("behavior", "Isolated");
        w.WriteBoolean("invert", false);
        w.WriteEndObject();
        WriteByteLevel(w, null);
        w.WriteEndArray();
        w.WriteEndObject();

        WriteByteLevel(w, "post_processor");
        WriteByteLevel(w, "decoder");

        w.WriteStartObject("model");
        w.WriteString("type", "BPE");
        w.WriteNull("dropout");
        w.WriteNull("unk_token");
        w.WriteString("continuing_subword_prefix", "");
        w.WriteString("end_of_word_suffix", "");
        w.WriteBoolean("fuse_unk", false);
        w.WriteBoolean("byte_fallback", false);
        w.WriteBoolean("ignore_merges", false);
        w.WriteStartObject("vocab");
        for (int id = 0; id < trained.Vocab.Count; id++) w.WriteNumber(trained.Vocab[id], id);
        w.WriteEndObject();
        w.WriteStartArray("merges");
        foreach (var (left, right) in trained.Merges)
        {
            w.WriteStartArray();
            w.WriteStringValue(left);
            w.WriteStringValue(right);
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    static void WriteByteLevel(Utf8JsonWriter w, string? name)
    {
        if (name is null) w.WriteStartObject();
        else w.WriteStartObject(name);
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", false);
        w.WriteBoolean("trim_offsets", false);
        w.WriteBoolean("use_regex", false);
        w.WriteEndObject();
    }

    static void WriteConfig(Utf8JsonWriter w, int firstSpecial)
    {
        w.WriteStartObject();
        w.WriteBoolean("add_bos_token", false);
        w.WriteBoolean("add_prefix_space", false);
        w.WriteStartObject("added_tokens_decoder");
        for (int i = 0; i < Specials.Length; i++)
        {
            w.WriteStartObject((firstSpecial + i).ToString(System.Globalization.CultureInfo.InvariantCulture));
            WriteTokenFields(w, Specials[i].Content);
            w.WriteBoolean("special", Specials[i].Special);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteStartArray("additional_special_tokens");
        w.WriteStringValue("<|im_start|>");
        w.WriteStringValue("<|im_end|>");
        w.WriteEndArray();
        w.WriteNull("bos_token");
        w.WriteString("chat_template", ChatTemplate);
        w.WriteBoolean("clean_up_tokenization_spaces", false);
        w.WriteString("eos_token", "<|im_end|>");
        w.WriteString("errors", "replace");
        w.WriteNumber("model_max_length", 32768);
        w.WriteString("pad_token", "<|endoftext|>");
        w.WriteBoolean("split_special_tokens", false);
        w.WriteString("tokenizer_class", "Qwen2Tokenizer");
        w.WriteNull("unk_token");
        w.WriteEndObject();
    }

    static void WriteSpecialTokensMap(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteStartArray("additional_special_tokens");
        w.WriteStringValue("<|im_start|>");
        w.WriteStringValue("<|im_end|>");
        w.WriteEndArray();
        foreach (var (key, content) in new[] { ("eos_token", "<|im_end|>"), ("pad_token", "<|endoftext|>") })
        {
            w.WriteStartObject(key);
            WriteTokenFields(w, content);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    static void WriteTokenFields(Utf8JsonWriter w, string content)
    {
        w.WriteString("content", content);
        w.WriteBoolean("lstrip", false);
        w.WriteBoolean("normalized", false);
        w.WriteBoolean("rstrip", false);
        w.WriteBoolean("single_word", false);
    }

    /// <summary>Writes to a temporary file beside the target, then renames it over the target.</summary>
    static void WriteAtomically(string path, Action<Utf8JsonWriter> write)
    {
        string temp = $"{path}.tmp-{Guid.NewGuid():N}";
        try
        {
            using (var stream = File.Create(temp))
            using (var writer = new Utf8JsonWriter(stream, WriterOptions))
            {
                write(writer);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
