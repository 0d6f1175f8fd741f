using System.Text.Encodings.Web;
using System.Text.Json;
using LlamaBoard.Engine.Tokenization;

namespace LlamaBoard.Tests.Engine.Tokenization;

/// <summary>
/// Ids and decoded text of four real tokenizers against goldens made by Hugging Face's JavaScript tokenizers
/// (cross-checked with a second JS implementation); see Fixtures/tokenizers/generate-goldens.mjs.
/// </summary>
public class RealTokenizerGoldenTests
{
    public static TheoryData<string> Tokenizers() => new(TokenizerPackages.Names);

    sealed record GoldenCase(string Text, int[] Ids, int[] IdsNoSpecial, string Decoded, string DecodedSkipSpecial);
    sealed record PartialDecode(int[] Ids, string Decoded);
    sealed record Golden(string Package, int VocabSize, GoldenCase[] Cases, PartialDecode[] PartialDecodes);

    static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    static string Show(string text) => JsonSerializer.Serialize(text, Readable);

    static Golden ReadGolden(string name)
    {
        string path = Path.Combine(TokenizerPackages.FixturesFolder, "goldens", name + ".json");
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        return JsonSerializer.Deserialize<Golden>(File.ReadAllText(path), options)!;
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Encode_matches_reference_ids(string name)
    {
        var tokenizer = TokenizerPackages.Load(name);
        var golden = ReadGolden(name);
        Assert.True(golden.Cases.Length >= 30);
        var failures = new List<string>();
        foreach (var c in golden.Cases)
        {
            var ids = tokenizer.Encode(c.Text);
            var plain = tokenizer.Encode(c.Text, addSpecialTokens: false);
            if (!ids.SequenceEqual(c.Ids)) failures.Add($"{Show(c.Text)}: [{string.Join(",", ids)}] expected [{string.Join(",", c.Ids)}]");
            if (!plain.SequenceEqual(c.IdsNoSpecial)) failures.Add($"(no special) {Show(c.Text)}: [{string.Join(",", plain)}] expected [{string.Join(",", c.IdsNoSpecial)}]");
        }
        Assert.True(failures.Count == 0, $"{name} ({golden.Package}):\n" + string.Join("\n", failures));
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Decode_matches_reference_text(string name)
    {
        var tokenizer = TokenizerPackages.Load(name);
        var golden = ReadGolden(name);
        var failures = new List<string>();
        foreach (var c in golden.Cases)
        {
            string decoded = tokenizer.Decode(c.Ids);
            string skipped = tokenizer.Decode(c.Ids, skipSpecialTokens: true);
            if (decoded != c.Decoded) failures.Add($"{Show(decoded)} expected {Show(c.Decoded)}");
            if (skipped != c.DecodedSkipSpecial) failures.Add($"(skip special) {Show(skipped)} expected {Show(c.DecodedSkipSpecial)}");
        }
        foreach (var p in golden.PartialDecodes)
        {
            string decoded = tokenizer.Decode(p.Ids);
            if (decoded != p.Decoded) failures.Add($"(partial [{string.Join(",", p.Ids)}]) {Show(decoded)} expected {Show(p.Decoded)}");
        }
        Assert.True(failures.Count == 0, $"{name} ({golden.Package}):\n" + string.Join("\n", failures));
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Vocabulary_size_counts_added_tokens(string name)
    {
        var tokenizer = TokenizerPackages.Load(name);
        // The JS reference counts distinct tokens; all four have contiguous ids, so it equals max id + 1.
        Assert.Equal(ReadGolden(name).VocabSize, tokenizer.VocabSize);
    }
}
