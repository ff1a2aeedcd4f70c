"""The photographs of the corpus: where each one is and whether it is held out.

Every image below was looked at: only camera photographs are kept (no
drawings, paintings, renders or abstract art). Licences and authors are not
written here for Debian packages: ``pconvgan.corpus`` reads them from each
package's copyright file or, for gcompris-qt-data, from the credits README
inside each resource bundle, so the manifest records what the package says.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from pconvgan.archives import stem

# Never downloaded, trained on or looked at: kept for independent evaluation.
RESERVED = ("mate-backgrounds", "plasma-workspace-wallpapers", "tuxpaint-data",
            "lxqt-themes")


@dataclasses.dataclass(frozen=True)
class Photo:
  """One photograph in a package.

  package: Debian package or Python distribution that ships it.
  path: its path inside the package (Debian: from the root of the data
    archive, e.g. 'usr/share/backgrounds/x.jpg'; Python: relative to the
    module named by ``module``).
  member: for photographs inside a container file (a Qt resource bundle
    '.rcc', a jigzo puzzle '.pzl' or an Enlightenment wallpaper '.edj' at
    ``path``), the resource's path in it ('.rcc') or '' ('.pzl', '.edj':
    the file's one photograph).
  held_out: True for the photographs kept for evaluation.
  content: what it shows (animal, building, landscape, object, people,
    plant, texture, underwater), to spread the held-out set.
  module: for Python packages, the importable module the path is under.
  licence, copyright: for Python packages, as the package's documentation
    states them (Debian packages: read from the package).
  """
  package: str
  path: str
  held_out: bool = False
  content: str = ""
  member: str = ""
  module: str = ""
  licence: str = ""
  copyright: str = ""

  @property
  def container(self) -> str:
    """'rcc', 'pzl', 'edj' or '' (a plain image file)."""
    return {".rcc": "rcc", ".pzl": "pzl", ".edj": "edj"}.get(self.path[-4:],
                                                             "")

  @property
  def name(self) -> str:
    if self.container == "rcc":
      return f"{self.package}__{stem(self.path)}__{stem(self.member)}"
    return f"{self.package}__{stem(self.path)}"


def _lomiri(release: str, names: Sequence[str], held: Sequence[str],
            content: str = "landscape") -> list[Photo]:
  return [Photo(f"lomiri-wallpapers-{release}", f"usr/share/backgrounds/{n}.jpg",
                held_out=n in held, content=content) for n in names]


def _skimage(name: str, licence: str, holder: str, content: str,
             held_out: bool = False) -> Photo:
  """A photograph of scikit-image's data/ (licences: skimage.data docstrings)."""
  return Photo("scikit-image", f"data/{name}", module="skimage",
               licence=licence, copyright=holder, held_out=held_out,
               content=content)


def _gcompris(bundle: str, folder: str, content: str, names: str,
              held: str = "") -> list[Photo]:
  """WebP photographs of one gcompris-qt resource bundle; ``names`` and
  ``held``: space-separated file stems."""
  held_set = set(held.split())
  assert held_set <= set(names.split()), held_set - set(names.split())
  return [Photo("gcompris-qt-data", f"usr/share/gcompris-qt/rcc/{bundle}.rcc",
                member=f"gcompris/src/activities/{bundle}/{folder}/{n}.webp",
                held_out=n in held_set, content=content)
          for n in names.split()]


def _jigzo(names: str, content: dict[str, str], held: str = "") -> list[Photo]:
  return [Photo("jigzo-data", f"usr/share/games/jigzo/puzzles/00_default/{n}.pzl",
                held_out=n in held.split(), content=content.get(n, "object"))
          for n in names.split()]


_LOMIRI_1604 = (
    "Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly",
    "Picture_0B_by_freespace", "Picture_1A_by_freespace",
    "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi",
    "analogpattern_by_Peter_Nerlich", "free_by_Peter_Nerlich",
    "friends_by_Aitzol_Berasategi", "greentock_by_Peter_Nerlich",
    "life_by_Aitzol_Berasategi", "picosdeeuropa_by_Aitzol_Berasategi",
    "seeding_by_Clements_Engelhardt", "sunset_by_Aitzol_Berasategi",
    "umang_by_Abhishek_Mudgal")

_CAT = "categorization"

# Kept: photographs. Dropped after looking at every image of these packages:
# lomiri's Infinite-Sea, Painting-Colors, Fossa and default backgrounds
# (digital art), every ukui-wallpapers and gnome-backgrounds 43 image
# (renders and abstract art), sway-backgrounds (logos); scikit-image's
# drawings, microscopy, medical and stereo images; gcompris' drawings,
# cut-outs, puzzle pieces and the details bundle's Van Gogh paintings, its
# aulaPalatina and screwDriver (no credits), and the categorization copies
# of greatPyramid, brandenburgGate and colosseum (the same photographs as
# explore_monuments'); jigzo's penguin (non-commercial licence); libjxl's
# test charts.
PHOTOS: tuple[Photo, ...] = tuple(
    _lomiri("16.04", _LOMIRI_1604,
            held=("Dragonfly_by_Bolly", "Picture_0B_by_freespace",
                  "friends_by_Aitzol_Berasategi",
                  "picosdeeuropa_by_Aitzol_Berasategi"))
    + _lomiri("20.04", ("Kleiber_by_Lukas_Baubkus",), held=(),
              content="animal")
    + [
        _skimage("astronaut.png", "public domain", "NASA", "people"),
        _skimage("chelsea.png", "CC0-1.0", "Stefan van der Walt", "animal"),
        _skimage("coffee.png", "CC0-1.0", "Rachel Michetti", "object",
                 held_out=True),
        _skimage("rocket.jpg", "public domain", "SpaceX", "object"),
        _skimage("hubble_deep_field.jpg", "public domain",
                 "NASA / HubbleSite", "texture"),
        _skimage("camera.png", "CC0-1.0", "Lav Varshney", "people"),
        _skimage("brick.png", "CC0-1.0", "CC0Textures", "texture"),
        _skimage("grass.png", "CC0-1.0", "linolafett", "texture"),
        _skimage("gravel.png", "CC0-1.0", "CC0Textures", "texture"),
        Photo("scikit-learn", "datasets/images/china.jpg", module="sklearn",
              licence="CC-BY-2.0", copyright="danielbuechele (Flickr)",
              held_out=True, content="building"),
        Photo("scikit-learn", "datasets/images/flower.jpg", module="sklearn",
              licence="CC-BY-2.0", copyright="vultilion (Flickr)",
              content="plant"),
        Photo("matplotlib", "mpl-data/sample_data/grace_hopper.jpg",
              module="matplotlib", licence="public domain",
              copyright="U.S. Navy", content="people"),
    ]
    + _gcompris("erase", "resource", "animal",
                "gorilla northern_harrier pika caterpillar giraffe calf "
                "penguin nubian_ibex camels macaque swans dolphin "
                "long_nosed_monkey kingfisher heron chamaeleon flying_fox "
                "gibbon rhinoceros crab goat toucan gosling horse alpaca "
                "cheetah butterfly bee meerkats kitten red_panda squirrel "
                "spoonbills",
                held="pika kingfisher meerkats rhinoceros toucan squirrel")
    + _gcompris("explore_monuments", "resource/usa", "building",
                "canyondeChelly georgeWashingtonBirthplace lincolnMemorial "
                "navajo cabrillo mountRushmore statueofLiberty "
                "castillodeSanMarcos fortSumter castleClinton",
                held="canyondeChelly castillodeSanMarcos")
    + _gcompris("explore_monuments", "resource/egypt", "building",
                "meidumPyramid greatPyramidOfGiza bentPyramid redPyramid")
    + _gcompris("explore_monuments", "resource/india", "building",
                "greatStupa gatewayofIndia konarkSunTemple charminar "
                "hawaMahal rangGhar victoriaMemorial mysorePalace "
                "goldenTemple ajantaCave qutubMinar",
                held="konarkSunTemple hawaMahal")
    + _gcompris("explore_monuments", "resource/france", "building",
                "chateaudeChambord pontduGard palaisdesPapes reimsCathedral "
                "eiffelTower citedeCarcassonne arlesAmphitheater "
                "chateaudeChenonceau montStMichel rocamadour",
                held="pontduGard rocamadour")
    + _gcompris("explore_monuments", "resource/germany", "building",
                "berlinCathedral schwerinPalace trierImperialBaths "
                "brandenburgGate neuschwansteinCastle wormsCathedral",
                held="trierImperialBaths")
    + _gcompris("explore_monuments", "resource/wonders", "building",
                "machuPicchu tajMahal chichenItza colosseum petra "
                "greatWallofChina christTheRedeemer", held="petra")
    + _gcompris("explore_world_animals", "resource/animals", "animal",
                "crocodile giraffe koala bison dragon jaguar hedgehog "
                "kangaroo narwhal moose panda chameleon lemur polar_bear "
                "scarlet_macaw", held="bison koala polar_bear")
    + _gcompris("explore_farm_animals", "resource/animals", "animal",
                "dog cow cat chicken horse duck sheep owl pig",
                held="sheep chicken")
    + _gcompris("explore_world_music", "resource/music", "people",
                "italy america australia japan orchestra africa ireland "
                "mexico middleeast", held="japan orchestra")
    + _gcompris("clickgame", "resource", "underwater",
                "sea1 sea2 sea3 sea4 sea5 sea6", held="sea3 sea5")
    + _gcompris("details", "resource/image", "building",
                "Louvre_2007_02_24_c_background FanoeWindmill_background "
                "EgeskovSlotSpejling_background GizahPyramids_background "
                "EilanDonanCastle_background TowerBridgeLondon_background "
                "Chenonceau_background NDP_background Nagoya_background "
                "TajMahal_background TourEiffel_background "
                "Neuschwanstein_background OperaSidney_background",
                held="EgeskovSlotSpejling_background Nagoya_background")
    + _gcompris(_CAT, "resource/images/tools", "object",
                "scissors2 scissors1 scissors4 scissors3 sickle tweezer "
                "multimeter2 multimeter1 multimeter3 screwDriver2 "
                "screwDriver1 cuttingTool screwDriver3 wrench1 plier4 plier2 "
                "sideCutter1 hammer6 hammer8 hammer7 hammer2 hammer9 hammer4 "
                "hammer3 spray hammer5 hammer1 wrench nailCutter "
                "measuringTape4 measuringTape2 measuringTape5 measuringTape3 "
                "measuringTape1 measuringTape6",
                held="multimeter1 hammer4 plier2")
    + _gcompris(_CAT, "resource/images/renewable", "landscape",
                "windmill5 dam1 dam2 dam3 dam4 dam5 solar8 solar6 solar4 "
                "solar7 solar2 solar5 solar3 solar1 geothermal windmill14 "
                "windmill15 windmill12 windmill13 windmill11 windmill "
                "windmill6 windmill8 windmill7 windmill9 windmill2 windmill1 "
                "windmill4 windmill3", held="dam5 solar8 windmill12")
    + _gcompris(_CAT, "resource/images/monuments", "building",
                "operaHouse zimniPalace tajMahal arcDeTriomphe IndiaGate "
                "greatWall leaningTowerOfPisa leMusee eiffelTower cathedral "
                "mountRushmore parthenon statueOfLiberty burj "
                "victoriaMemorial usCapitol bayterek empireState monument1 "
                "monument2 monument3 kutubMinar jucheTower christTheRedeemer",
                held="parthenon")
    + _gcompris(_CAT, "resource/images/numbers", "object", "numbers")
    + _gcompris(_CAT, "resource/images/fishes", "underwater",
                "fish16 fish18 fish12 fish19 fish14 fish13 fish15 fish10 "
                "fish11 fish26 fish28 fish27 fish22 fish24 fish23 fish25 "
                "fish20 fish21 fish1 fish2 fish3 fish4 fish5 fish6 fish7 "
                "fish9", held="fish10 fish9 fish3")
    + _gcompris(_CAT, "resource/images/alphabets", "object", "alphabets")
    + _gcompris(_CAT, "resource/images/others", "object",
                "chair bulb baseball volleyball erasers blackslate spoons "
                "igloo pillow pan plate buffetset weighingMachine cup knife "
                "bucket", held="spoons pillow")
    + _jigzo("bike-3x4 bird-2x3 blackberry-3x3 castle-6x3 clouds-4x4 "
             "gorilla2-3x3 heli-4x3 horse-4x3 tobogan-4x3 train-2x2 "
             "windmill-4x4",
             content={"bird-2x3": "animal", "blackberry-3x3": "plant",
                      "castle-6x3": "building", "clouds-4x4": "landscape",
                      "gorilla2-3x3": "animal", "horse-4x3": "animal",
                      "windmill-4x4": "building"},
             held="blackberry-3x3 train-2x2")
    + [Photo("libjxl-testdata", f"usr/share/libjxl-testdata/{p}",
             held_out=held, content=content)
       for p, content, held in (
           ("jxl/flower/flower.png", "plant", False),
           ("jxl/hdr_room.png", "building", False),
           ("external/wesaturate/500px/tmshre_riaphotographs_srgb8.png",
            "plant", True),
           ("external/wesaturate/500px/cvo9xd_keong_macan_srgb8.png",
            "landscape", True),
           ("external/wesaturate/500px/u76c0g_bliznaca_srgb8.png", "plant",
            False))]
)

# Optional (python -m pconvgan.corpus --large): Enlightenment's wallpapers,
# 14 photographs at 3840x2160 in a 400 MB package. Training photographs
# only, so that the held-out set is the same with them or without. Dropped
# after looking at every wallpaper: Dunes, Flat-Fan, Sunset-Hills and the
# Squiggles (drawings), Paper-Flower (paper cut-out), Flat-Stone-Pattern (a
# flat dark pattern).
LARGE_PHOTOS: tuple[Photo, ...] = tuple(
    Photo("enlightenment-data",
          f"usr/share/enlightenment/data/backgrounds/{name}.edj",
          content=content)
    for name, content in (
        ("Bamboo", "plant"), ("Foggy-Trees", "landscape"),
        ("God-Rays", "landscape"), ("Green-Maple", "plant"),
        ("Lichen-Branches", "plant"), ("Mountain", "landscape"),
        ("Peaks", "landscape"), ("Red-Maple", "plant"),
        ("Sea-of-Lanterns", "object"), ("Snow-Trees", "landscape"),
        ("Spruce-Needles", "plant"), ("Sunset-Clouds", "landscape"),
        ("White-Flower", "plant"), ("Yellow-Flower", "plant")))
