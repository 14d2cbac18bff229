/**
 * The WordPiece tokenizer files of the tiny BERT-style test model, in the Hugging Face
 * `tokenizer.json` format (normalizer, pre-tokenizer, model, post-processor) that
 * `@huggingface/transformers` reads, plus `tokenizer_config.json`.
 *
 * The vocabulary has every lower-case letter and digit both as a word start and as a `##`
 * continuation, so any ASCII word splits into known pieces; a few hundred common words sit on top so
 * ordinary text gets whole-word tokens. Other scripts map to `[UNK]`, except a few common CJK
 * characters (BERT splits CJK per character).
 */

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

const COMMON_WORDS =
  `the of and to in is was it for on are as with his they at be this from have or by one had
not but what all were when we there can an your which their said if do will each about how up out them
then she many some so these would other into has more her two like him see time could no make than first
been its who now people my made over did down only way find use may water long little very after words
called just where most know get through back much before go good new write our used me man too any day
same right look think also around another came come work three word must because does part even place
well such here take why help put different away again off went old number great tell men say small every
found still between name should home big give air line set own under read last never us left end along
while might next sound below saw something thought both few those always looked show large often together
asked house world going want school important until form food keep children feet land side without boy
once animals life enough took sometimes four head above kind began almost live page got earth need far
hand high year mother light parts country father let night following picture being study second eyes
soon times story boys since white days paper hard near sentence better best across during today others
however sure means knew try told young miles sun ways thing whole hear example heard several change
answer room sea against top turned learn point city play toward five using himself usually model models
language large llm deploy query embedding embeddings rerank search vector cat cats dog dogs sat mat
weather sunny rain cloud computer data machine learning hello world byzer spark sql python rust node`
    .split(/\s+/)
    .filter((word) => word !== '');

const CJK = '的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年模型向量检索排序你好世界天气'.split(
  '',
);

const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'.split('');

/** The vocabulary in id order: specials first, so `[PAD]` is 0 as in BERT. */
export function tinyVocabulary(): string[] {
  const letters = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
  const tokens = [
    ...SPECIAL_TOKENS,
    ...PUNCTUATION,
    ...letters,
    ...letters.map((letter) => `##${letter}`),
    ...CJK,
    ...COMMON_WORDS,
  ];
  return [...new Set(tokens)];
}

/** `tokenizer.json` for the vocabulary, with BERT's single and pair templates. */
export function tokenizerJson(vocabulary: string[], maxLength: number): Record<string, unknown> {
  const idOf = (token: string) => vocabulary.indexOf(token);
  const vocab: Record<string, number> = {};
  vocabulary.forEach((token, id) => {
    vocab[token] = id;
  });
  const special = (token: string, typeId: number) => ({ SpecialToken: { id: token, type_id: typeId } });
  const sequence = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: { direction: 'Right', max_length: maxLength, strategy: 'LongestFirst', stride: 0 },
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((token) => ({
      id: idOf(token),
      content: token,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0)],
      pair: [
        special('[CLS]', 0),
        sequence('A', 0),
        special('[SEP]', 0),
        sequence('B', 1),
        special('[SEP]', 1),
      ],
      special_tokens: Object.fromEntries(
        ['[CLS]', '[SEP]'].map((token) => [token, { id: token, ids: [idOf(token)], tokens: [token] }]),
      ),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

/** `tokenizer_config.json`: the tokenizer class and its special tokens. */
export function tokenizerConfigJson(maxLength: number): Record<string, unknown> {
  return {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: maxLength,
    clean_up_tokenization_spaces: true,
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    mask_token: '[MASK]',
  };
}
