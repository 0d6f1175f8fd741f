using System.Text.Json;

namespace LlamaBoard.Tests.Engine.Tokenization;

/// <summary>
/// SentencePiece-style models (no pre-tokenizer) hand the BPE model whole sentences as one word; the model cuts
/// such words where no vocabulary token can span. That must give exactly the ids of merging the whole word.
/// </summary>
public class LongWordTests
{
    [Theory]
    [InlineData("llama2", true)]
    [InlineData("gemma3", false)]
    public void Cutting_long_words_gives_the_same_ids_as_merging_them_whole(string name, bool dummyPrefix)
    {
        var model = TokenizerPackages.Load(name).Model;
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TokenizerPackages.FixturesFolder, "goldens", name + ".json")));
        var texts = doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("text").GetString()!).ToList();
        var random = new Random(5);
        for (int n = 0; n < 20; n++)
        {
            // Several golden texts run together: long, mixed scripts, emoji, byte-fallback characters.
            string text = string.Join(" ", Enumerable.Range(0, 8).Select(_ => texts[random.Next(texts.Count)]));
            string word = (dummyPrefix ? "▁" : "") + text.Replace(" ", "▁", StringComparison.Ordinal);
            Assert.True(word.Length > 64);
            var cut = new List<int>();
            model.Encode(word, cut);
            Assert.Equal(model.MergeWhole(word), cut);
        }
    }
}
