using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace LlamaBoard.Tests.Engine.Tokenization;

/// <summary>
/// A second, independent .NET reference: Microsoft.ML.Tokenizers' BpeTokenizer built from Qwen3's tokenizer.json
/// (byte-level, the Split regex, NFC applied first) must give our ids on random text. It is only valid inside
/// the Basic Multilingual Plane: .NET's regex sees a supplementary character as two surrogates, so for "𝟘"
/// (a digit) or "𠀀" (a letter) it splits differently from Hugging Face, which HfTokenizer does not (see the
/// goldens' "Math" and "Rare CJK" cases).
/// </summary>
public class MicrosoftMlCrossCheckTests
{
    [Fact]
    public void Qwen3_ids_equal_bpe_tokenizer_on_random_bmp_text()
    {
        var ours = TokenizerPackages.Load("qwen3");
        var reference = BuildReference(Path.Combine(TokenizerPackages.Folder("qwen3"), "tokenizer.json"));
        var random = new Random(2024);
        const string common = "'sStTdDmMlLvVrR.,;:!?-_()[]{}<>/\\\"@#$%^&*+= \t\n\r0123456789abcXYZ";
        int compared = 0;
        for (int n = 0; n < 3000; n++)
        {
            var sb = new StringBuilder();
            int length = random.Next(1, 40);
            for (int i = 0; i < length; i++)
            {
                char c = random.Next(5) switch
                {
                    0 or 1 => common[random.Next(common.Length)],
                    2 => (char)random.Next(0x20, 0x3000),
                    3 => (char)random.Next(0x4E00, 0x9FFF),
                    _ => " \n"[random.Next(2)],
                };
                if (!char.IsSurrogate(c)) sb.Append(c);
            }
            string text = sb.ToString();
            var expected = reference.EncodeToIds(text.Normalize(NormalizationForm.FormC));
            Assert.True(expected.SequenceEqual(ours.Encode(text, addSpecialTokens: false)),
                $"{JsonSerializer.Serialize(text)}: ours [{string.Join(",", ours.Encode(text, false))}], Microsoft.ML.Tokenizers [{string.Join(",", expected)}]");
            compared++;
        }
        Assert.Equal(3000, compared);
    }

    static BpeTokenizer BuildReference(string tokenizerJson)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(tokenizerJson));
        var root = doc.RootElement;
        var model = root.GetProperty("model");
        var vocab = model.GetProperty("vocab").EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.GetInt32())).ToList();
        var merges = model.GetProperty("merges").EnumerateArray().Select(m => m[0].GetString() + " " + m[1].GetString()).ToList();
        var specials = root.GetProperty("added_tokens").EnumerateArray()
            .ToDictionary(t => t.GetProperty("content").GetString()!, t => t.GetProperty("id").GetInt32());
        string pattern = root.GetProperty("pre_tokenizer").GetProperty("pretokenizers")[0].GetProperty("pattern").GetProperty("Regex").GetString()!;
        return BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges,
            SpecialTokens = specials,
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled), specials),
        });
    }
}
